"""Demo data: a believable, entirely fictional union membership for trying Turnout out.

Everything is drawn from ``random.Random`` streams seeded from the options, so the same
options always give the same people, schools and districts. Emails use the reserved
``example.*`` domains and mobiles Ofcom's drama range, so nothing here can reach a
real person. Writes are chunked bulk inserts inside one transaction: union scale
(450,000 supporters) stays fast and small in memory, and a failure leaves nothing.
"""

from __future__ import annotations

import random
import re
import time
import unicodedata
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate, islice

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import reset_queries, transaction
from django.utils import timezone

from campaign.models import AuditEvent, Campaign
from campaign.roles import Role as TeamRole
from campaign.services import audit_record, team_member_set
from contacts.models import ConsentRecord, Contact, District, School, Suppression, Tag, name_key
from contacts.services.consent import SUPPRESS_AS
from contacts.suppression import address_hash

DEMO_PASSWORD = "turnout-demo"  # noqa: S105 - printed to the developer; refused unless DEBUG
DEMO_TAGS = ("caucus", "phone-banker", "new-starter")
EMAIL_DOMAINS = ("example.org", "example.com", "example.net")
# Ofcom reserves 07700 900000-900999 for drama; no network will ever assign them.
FICTION_MOBILE_PREFIX = "+447700900"

# Called as progress(stage, done, total) after each chunk is written.
ProgressFn = Callable[[str, int, int], None]


class SeedRefused(Exception):
    """Seeding would damage real data or leak known passwords; nothing was written."""


@dataclass(frozen=True)
class SeedOptions:
    contacts: int = 3000
    schools: int = 120
    districts: int = 12
    seed: int = 1
    users: bool = False
    # Big enough to amortise a round trip, small enough to keep memory flat.
    chunk_size: int = 5000

    def __post_init__(self) -> None:
        if self.districts < 1:
            raise ValueError("At least one district is needed.")
        if self.schools < 0 or self.contacts < 0:
            raise ValueError("Counts cannot be negative.")
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be positive.")


@dataclass(frozen=True)
class DemoLogin:
    username: str
    # None when the account already existed and kept its own password.
    password: str | None
    role: str
    districts: tuple[str, ...] = ()


@dataclass
class SeedResult:
    counts: dict[str, int]
    seconds: float
    campaign: str | None = None
    logins: list[DemoLogin] = field(default_factory=list)


# --- word lists ------------------------------------------------------------------------

# (name, region): local-authority-like areas across the four nations.
DISTRICTS: tuple[tuple[str, str], ...] = (
    *((n, "North East") for n in (
        "Newcastle upon Tyne", "Sunderland", "Gateshead", "Durham", "Northumberland",
        "Middlesbrough", "Stockton-on-Tees", "Darlington", "Hartlepool", "North Tyneside",
        "South Tyneside", "Redcar and Cleveland",
    )),
    *((n, "North West") for n in (
        "Manchester", "Liverpool", "Salford", "Bolton", "Bury", "Oldham", "Rochdale",
        "Stockport", "Tameside", "Trafford", "Wigan", "Wirral", "Sefton", "Knowsley",
        "St Helens", "Lancashire", "Blackburn with Darwen", "Blackpool", "Cumberland",
        "Westmorland and Furness", "Cheshire East", "Cheshire West and Chester",
        "Warrington", "Halton",
    )),
    *((n, "Yorkshire and the Humber") for n in (
        "Leeds", "Bradford", "Sheffield", "Wakefield", "Kirklees", "Calderdale", "Rotherham",
        "Doncaster", "Barnsley", "York", "North Yorkshire", "East Riding of Yorkshire",
        "Kingston upon Hull", "North Lincolnshire", "North East Lincolnshire",
    )),
    *((n, "East Midlands") for n in (
        "Nottingham", "Nottinghamshire", "Derby", "Derbyshire", "Leicester",
        "Leicestershire", "Lincolnshire", "North Northamptonshire",
        "West Northamptonshire", "Rutland",
    )),
    *((n, "West Midlands") for n in (
        "Birmingham", "Coventry", "Wolverhampton", "Dudley", "Sandwell", "Walsall",
        "Solihull", "Stoke-on-Trent", "Staffordshire", "Shropshire", "Telford and Wrekin",
        "Herefordshire", "Worcestershire", "Warwickshire",
    )),
    *((n, "East of England") for n in (
        "Norfolk", "Suffolk", "Cambridgeshire", "Peterborough", "Essex", "Southend-on-Sea",
        "Thurrock", "Hertfordshire", "Bedford", "Central Bedfordshire", "Luton",
    )),
    *((n, "London") for n in (
        "Camden", "Hackney", "Islington", "Tower Hamlets", "Lambeth", "Southwark",
        "Lewisham", "Greenwich", "Newham", "Haringey", "Brent", "Ealing", "Hounslow",
        "Croydon", "Barnet", "Enfield", "Waltham Forest", "Redbridge",
        "Barking and Dagenham", "Wandsworth", "Westminster", "Kensington and Chelsea",
        "Hammersmith and Fulham", "Harrow", "Hillingdon", "Bromley", "Bexley", "Sutton",
        "Merton", "Kingston upon Thames", "Richmond upon Thames", "Havering",
    )),
    *((n, "South East") for n in (
        "Kent", "Medway", "Surrey", "East Sussex", "West Sussex", "Brighton and Hove",
        "Hampshire", "Southampton", "Portsmouth", "Isle of Wight", "Oxfordshire",
        "Buckinghamshire", "Milton Keynes", "Reading", "Slough", "West Berkshire",
        "Wokingham", "Bracknell Forest", "Windsor and Maidenhead",
    )),
    *((n, "South West") for n in (
        "Bristol", "Bath and North East Somerset", "North Somerset",
        "South Gloucestershire", "Gloucestershire", "Somerset", "Devon", "Plymouth",
        "Torbay", "Cornwall", "Dorset", "Bournemouth, Christchurch and Poole", "Wiltshire",
        "Swindon",
    )),
    *((n, "Wales") for n in (
        "Cardiff", "Swansea", "Newport", "Rhondda Cynon Taf", "Caerphilly", "Bridgend",
        "Vale of Glamorgan", "Neath Port Talbot", "Carmarthenshire", "Pembrokeshire",
        "Ceredigion", "Powys", "Gwynedd", "Ynys Môn", "Conwy", "Denbighshire", "Flintshire",
        "Wrexham", "Merthyr Tydfil", "Blaenau Gwent", "Torfaen", "Monmouthshire",
    )),
    *((n, "Scotland") for n in (
        "Glasgow", "Edinburgh", "Aberdeen", "Dundee", "Fife", "North Lanarkshire",
        "South Lanarkshire", "Renfrewshire", "East Renfrewshire", "Inverclyde",
        "West Dunbartonshire", "East Dunbartonshire", "Falkirk", "Stirling", "West Lothian",
        "Midlothian", "East Lothian", "Highland", "Moray", "Aberdeenshire", "Angus",
        "Perth and Kinross", "Argyll and Bute", "Dumfries and Galloway", "Scottish Borders",
        "North Ayrshire", "East Ayrshire", "South Ayrshire", "Clackmannanshire",
        "Na h-Eileanan Siar", "Orkney", "Shetland",
    )),
    *((n, "Northern Ireland") for n in (
        "Belfast", "Derry and Strabane", "Armagh, Banbridge and Craigavon",
        "Newry, Mourne and Down", "Mid Ulster", "Causeway Coast and Glens",
        "Fermanagh and Omagh", "Lisburn and Castlereagh", "Ards and North Down",
        "Antrim and Newtownabbey", "Mid and East Antrim",
    )),
)  # fmt: skip
# Used, in order, to split a name once the list above runs out.
DISTRICT_QUALIFIERS = ("North", "South", "East", "West", "Central")

SCHOOL_PLACES = (
    "Oakfield", "Beechwood", "Ashgrove", "Hollybrook", "Meadowside", "Riverside",
    "Fairfield", "Brookfield", "Westfield", "Highfield", "Greenacres", "Elmwood",
    "Hazelwood", "Millbrook", "Kingsmead", "Queensbury", "Parkside", "Hillcrest",
    "Springfield", "Redhill", "Thornbury", "Woodlands", "Castle View", "Heathfield",
    "Moorside", "Langley", "Broadoak", "Fernhill", "Willowbank", "Larkrise", "Bramley",
    "Ravenscroft", "Southfields", "Northgate", "Eastbrook", "Abbey", "Priory", "Chantry",
    "Marlborough", "Harrington", "Ladybridge", "Stonehill", "Cherry Tree", "Rosewood",
    "Foxhill", "Badger's Wood", "Kestrel Way", "Orchard", "Church Lane", "Mill Lane",
    "Station Road", "Hawthorn", "Rowan", "Sycamore", "Lime Tree", "Cedars", "Poplars",
    "Ferndown", "Westbury", "Ashby", "Claremont", "Belmont", "Windmill", "Valley",
    "Burnside", "Lochside", "Glenwood", "Braeside", "Kirkton", "Townhead",
)  # fmt: skip
SCHOOL_SAINTS = (
    "St Mary's", "St John's", "St Peter's", "St Paul's", "St Joseph's", "St Anne's",
    "St Michael's", "St Andrew's", "St David's", "St Patrick's", "St Bernadette's",
    "St Teresa's", "St Margaret's", "St Columba's", "St Aidan's", "St Bede's", "St Hilda's",
    "St Oswald's", "St Chad's", "St Cuthbert's", "St Wilfrid's", "St Thomas More",
    "Holy Trinity", "Christ Church", "Sacred Heart", "Our Lady of Lourdes", "Holy Family",
    "All Saints", "St Brigid's", "St Kentigern's",
)  # fmt: skip
# Faith schools are named differently in each nation (no C of E north of the border).
SCHOOL_FAITH_SUFFIXES: dict[str, tuple[str, ...]] = {
    "England": (
        "C of E Primary School", "CE Primary School", "Catholic Primary School",
        "RC Primary School", "Church of England Academy", "Catholic High School",
        "CE Junior School", "Catholic College", "C of E Infant School",
    ),
    "Wales": ("Church in Wales Primary School", "Catholic Primary School", "Catholic High School"),
    "Scotland": ("RC Primary School", "RC High School", "RC Academy"),
    "Northern Ireland": ("Primary School", "High School", "College", "Grammar School"),
}  # fmt: skip
# (suffix, relative pupil numbers): secondaries draw more supporters than infants.
SCHOOL_SUFFIXES: tuple[tuple[str, float], ...] = (
    ("Primary School", 1.0), ("Community Primary School", 1.0), ("Infant School", 0.6),
    ("Junior School", 0.7), ("Nursery School", 0.3), ("Primary Academy", 1.0),
    ("Academy", 3.0), ("High School", 3.5), ("Secondary School", 3.0), ("School", 1.5),
    ("Community College", 3.0), ("Special School", 0.5), ("Sixth Form College", 2.0),
)  # fmt: skip
SCHOOL_SUFFIX_WEIGHTS = (30, 6, 5, 5, 2, 6, 8, 8, 3, 4, 2, 2, 1)
WELSH_SCHOOL_PLACES = (
    "Bro Morgannwg", "Glan Taf", "Pen y Garth", "Melin Gruffydd", "y Wern", "Treganna",
    "Pencae", "Tŷ Gwyn", "Llwyncelyn", "Bryn Onnen", "Cwm Rhymni", "Pontybrenin",
    "Llanhari", "Plasmawr", "Dewi Sant", "Santes Tudful", "Maes y Gwendraeth",
    "Aberdâr", "Eifionydd", "Glan Clwyd", "Bro Dinefwr", "Penweddig", "Bryn Tawe",
    "Gwaun Cae Gurwen", "Castell Nedd", "Llangynwyd", "Cwmbrân", "Trelái",
)  # fmt: skip
WELSH_SCHOOL_PREFIXES: tuple[tuple[str, float], ...] = (
    ("Ysgol Gymraeg", 1.0), ("Ysgol Gynradd", 1.0), ("Ysgol", 1.2), ("Ysgol Bro", 1.5),
    ("Ysgol Gyfun", 3.5),
)  # fmt: skip
GAELIC_SCHOOL_PLACES = ("Ghlaschu", "Dhùn Èideann", "Inbhir Nis", "Phort Rìgh", "Steòrnabhaigh")
IRISH_SCHOOL_PLACES = ("an Lonnáin", "Bheann Mhadagáin", "Éadain Mhóir", "na Móna", "Ard Mhacha")

# Name pools by origin, weighted roughly like a UK public-sector workforce.
# Surnames in Chinese script are followed by a romanisation for the email address.
NAME_POOLS: dict[str, tuple[float, tuple[str, ...], tuple[str, ...]]] = {
    "english": (58, (
        "Oliver", "Amelia", "Jack", "Olivia", "Harry", "Emily", "George", "Isla", "Charlie",
        "Sophie", "James", "Jessica", "Thomas", "Grace", "William", "Lucy", "Daniel",
        "Hannah", "Samuel", "Chloe", "Joseph", "Ellie", "Matthew", "Zoë", "Rebecca", "Sarah",
        "Claire", "Helen", "Joanne", "Michelle", "Karen", "Gemma", "Laura", "Rachel", "Emma",
        "Katie", "Nicola", "Lisa", "Paul", "Mark", "David", "Andrew", "Richard", "Stephen",
        "Christopher", "Peter", "Simon", "Natalie", "Victoria", "Jennifer", "Amy", "Louise",
        "Alison", "Jade", "Stacey", "Dean", "Lee", "Craig", "Ben", "Josh", "Ryan", "Liam",
        "Jamie", "Sam", "Abigail", "Megan", "Freya", "Poppy", "Ruby", "Alfie", "Ella",
        "Phoebe", "Renée", "Chloë", "Jo", "Kate", "Anne-Marie", "Mary-Jane", "Hayley",
    ), (
        "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson",
        "Thomas", "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White",
        "Edwards", "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patterson",
        "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore",
        "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen", "James", "Scott",
        "Phillips", "Watson", "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths",
        "Mitchell", "Kelly", "Cook", "Carter", "Richardson", "Bailey", "Collins", "Bell",
        "Shaw", "Murphy", "Miller", "Cox", "Richards", "Khan", "Marshall", "Anderson",
        "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson", "Foster", "Chapman",
        "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain", "Campbell",
        "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd",
        "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Dixon", "Fletcher",
        "Smith-Jones", "Ashworth-Bell", "Featherstonehaugh", "Ramsbottom", "Entwistle",
    )),
    "irish": (7, (
        "Aoife", "Niamh", "Seán", "Siobhán", "Ciarán", "Orla", "Saoirse", "Caoimhe",
        "Róisín", "Pádraig", "Eoin", "Darragh", "Sinéad", "Máire", "Cian", "Oisín",
        "Clodagh", "Declan", "Fionnuala", "Gráinne", "Éabha", "Tadhg",
    ), (
        "O'Neill", "O'Brien", "Murphy", "Kelly", "Ní Bhriain", "Ó Súilleabháin",
        "O'Sullivan", "McCarthy", "Byrne", "Ryan", "Walsh", "Doyle", "Ó Murchú", "Nic Aodha",
        "O'Connor", "Fitzgerald", "Kavanagh", "Mac Cárthaigh", "Ó Ceallaigh", "Ní Dhonnabháin",
        "Gallagher", "Quinn", "O'Donnell", "McLaughlin",
    )),
    "scottish": (5, (
        "Eilidh", "Iain", "Mhairi", "Callum", "Catriona", "Fraser", "Ailsa", "Hamish",
        "Ruaridh", "Kirsty", "Alasdair", "Morag", "Euan", "Seonaid", "Lachlan", "Ishbel",
        "Struan", "Fionn",
    ), (
        "MacDonald", "Campbell", "Stewart", "Robertson", "MacLeod", "Fraser", "Murray",
        "Sinclair", "Mackenzie", "McGregor", "Buchanan", "MacAulay", "Ross", "Urquhart",
        "Farquharson", "Grant", "MacIver", "Mac an t-Saoir", "NicLeòid", "Drummond",
    )),
    "welsh": (5, (
        "Siân", "Dafydd", "Rhys", "Gwenllian", "Cerys", "Ffion", "Iolo", "Gethin", "Bethan",
        "Mererid", "Elin", "Llŷr", "Ioan", "Angharad", "Rhiannon", "Owain", "Carys", "Tomos",
        "Nia", "Aled", "Gareth", "Dyfrig",
    ), (
        "ap Rhys", "Jones", "Williams", "Davies", "Evans", "Llewellyn", "Pritchard",
        "ap Gwilym", "Pugh", "Vaughan", "Prosser", "Bowen", "Griffiths", "Morgan", "Parry",
        "Prys", "ab Owain", "Rees", "Huws", "Bevan",
    )),
    "south_asian": (9, (
        "Priya", "Mohammed", "Aisha", "Arjun", "Fatima", "Imran", "Sana", "Rahul", "Ananya",
        "Zainab", "Harpreet", "Gurdeep", "Nadia", "Farhan", "Deepa", "Sunil", "Ayesha",
        "Tariq", "Shabana", "Vikram", "Meera", "Bilal",
    ), (
        "Patel", "Khan", "Ahmed", "Hussain", "Begum", "Singh", "Sharma", "Chaudhry",
        "Mistry", "D'Souza", "Iqbal", "Rahman", "Akhtar", "Kaur", "Gill", "Sandhu", "Shah",
        "Mahmood", "Desai", "Fernandes", "Uddin", "Bhatt",
    )),
    "west_african": (4, (
        "Oluwaseun", "Chidi", "Adaeze", "Ngozi", "Kwame", "Ama", "Tunde", "Folake", "Emeka",
        "Abimbola", "Chiamaka", "Kofi", "Yetunde", "Obinna", "Efua",
    ), (
        "Okafor", "Adeyemi", "Mensah", "Okoye", "Boateng", "Eze", "Balogun", "Owusu",
        "Adebayo", "Nwosu", "Oyelaran", "Asante", "Olúwadámilárè", "Ogunleye",
    )),
    "caribbean": (3, (
        "Shanice", "Marcus", "Jermaine", "Tanisha", "Delroy", "Marcia", "Winston",
        "Jasmine", "Leon", "Precious", "Dwayne", "Keisha",
    ), (
        "Campbell", "Brown", "Thompson", "Clarke", "Francis", "Grant", "Reid", "Samuels",
        "Henry", "Gayle", "McKenzie", "Bailey",
    )),
    "polish": (3, (
        "Wojciech", "Agnieszka", "Małgorzata", "Łukasz", "Zofia", "Krzysztof", "Katarzyna",
        "Paweł", "Magdalena", "Tomasz", "Joanna", "Michał",
    ), (
        "Nowak", "Kowalski", "Wiśniewska", "Wójcik", "Lewandowski", "Zieliński", "Kamińska",
        "Szymański", "Dąbrowska", "Kozłowski", "Mazur", "Jankowska",
    )),
    "european": (3, (
        "Jürgen", "Anaïs", "José", "Inês", "Björn", "Søren", "Élodie", "François", "Giulia",
        "Matteo", "Ioana", "Nikos", "Ainhoa", "Lars", "Katalin",
    ), (
        "Müller", "Schmidt", "García", "Fernández", "Rossi", "Dubois", "Jensen", "Ferreira",
        "Novák", "Lefèvre", "Papadopoulos", "Popescu", "Nagy", "Øvergaard", "Costa",
    )),
    "east_asian": (1.5, (
        "Wei", "Mei", "Jun", "Xiu", "Hui", "Li Na", "Minh", "Thanh", "Hiroshi", "Yuki",
    ), (
        "Chen", "Wong", "Li", "Zhang", "Liu", "Nguyen", "Tran", "Tanaka", "Lam", "Cheung",
    )),
    "chinese_script": (0.5, (
        "伟", "芳", "娜", "静", "磊", "敏", "军", "丽",
    ), (
        "王", "李", "张", "刘", "陈", "杨", "黄",
    )),
    "other": (2, (
        "Yusuf", "Amira", "Hodan", "Abdi", "Elif", "Mehmet", "Leila", "Omar", "Maryam",
        "Dawit", "Selam", "Reza", "Shirin",
    ), (
        "Ali", "Hassan", "Yılmaz", "Abdullahi", "Demir", "Farah", "Haile", "Tesfaye",
        "Ahmadi", "Karimi", "Osman", "Al-Sayed",
    )),
}  # fmt: skip
_ROMANISED = {
    "王": "wang", "李": "li", "张": "zhang", "刘": "liu", "陈": "chen", "杨": "yang",
    "黄": "huang", "伟": "wei", "芳": "fang", "娜": "na", "静": "jing", "磊": "lei",
    "敏": "min", "军": "jun", "丽": "li",
}  # fmt: skip
# Letters NFKD leaves alone because they are not "letter + accent".
_FOLD = str.maketrans(
    {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "æ": "ae", "ß": "ss", "đ": "d", "œ": "oe",
     "ı": "i", "þ": "th", "ð": "d"}
)  # fmt: skip

CAMPAIGN_CANDIDATES = (
    "Alex Morgan", "Sam Okafor", "Jo Patel", "Rhian Pritchard", "Niamh Gallagher",
    "Chris Nowak",
)  # fmt: skip

CONSENT_SOURCES: dict[str, tuple[str, ...]] = {
    ConsentRecord.Method.WEB_FORM: (
        "Campaign website sign-up", "Newsletter sign-up form", "Petition: fair pay for support staff",
        "Online hustings registration",
    ),
    ConsentRecord.Method.PAPER_FORM: (
        "Conference stall {year}", "Branch meeting sign-up sheet", "Regional rally sign-up sheet",
        "Workplace visit sign-up sheet",
    ),
    ConsentRecord.Method.IN_PERSON: (
        "Conference stall {year}", "Staffroom visit", "Picket line conversation",
        "Hustings, {year}",
    ),
}  # fmt: skip
CONSENT_METHOD_WEIGHTS = {
    ConsentRecord.Method.WEB_FORM: 55,
    ConsentRecord.Method.PAPER_FORM: 25,
    ConsentRecord.Method.IN_PERSON: 20,
}
WITHDRAWN_HOW_WEIGHTS = {
    ConsentRecord.WithdrawnHow.UNSUBSCRIBE_LINK: 40,
    ConsentRecord.WithdrawnHow.ONE_CLICK: 30,
    ConsentRecord.WithdrawnHow.HARD_BOUNCE: 15,
    ConsentRecord.WithdrawnHow.REQUEST: 10,
    ConsentRecord.WithdrawnHow.COMPLAINT: 5,
}
ROLE_WEIGHTS = {Contact.Role.MEMBER: 80, Contact.Role.REP: 15, Contact.Role.ACTIVIST: 5}
GOTV_WEIGHTS = {
    Contact.Gotv.UNKNOWN: 50,
    Contact.Gotv.PLEDGED: 30,
    Contact.Gotv.BALLOT_RECEIVED: 8,
    Contact.Gotv.VOTED: 4,
    Contact.Gotv.WONT_VOTE: 8,
}
CURRENT_CONSENT_SHARE = 0.85
WITHDRAWN_CONSENT_SHARE = 0.05
MOBILE_SHARE = 0.70
NO_SCHOOL_SHARE = 0.04
# Share of contacts with each tag; activists phone-bank far more often.
TAG_SHARES = {"caucus": 0.04, "phone-banker": 0.05, "new-starter": 0.08}
ACTIVIST_PHONE_BANKER_SHARE = 0.5
MIXED_NAME_SHARE = 0.12
CONSENT_MAX_AGE_DAYS = 900


# --- pure generation ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DistrictSpec:
    name: str
    region: str
    weight: float


@dataclass(frozen=True, slots=True)
class SchoolSpec:
    name: str
    urn: str
    district_index: int
    weight: float


@dataclass(frozen=True, slots=True)
class ConsentSpec:
    given_at: datetime
    method: str
    source: str
    withdrawn_at: datetime | None = None
    withdrawn_how: str = ""


@dataclass(frozen=True, slots=True)
class ContactSpec:
    number: int
    first_name: str
    last_name: str
    email: str
    mobile: str
    school_index: int | None
    district_index: int
    role: str
    gotv_status: str
    tags: tuple[str, ...]
    consent: ConsentSpec | None
    created_at: datetime


def stream(seed: int, stage: str) -> random.Random:
    """An independent, reproducible stream per stage (str seeds hash with SHA-512)."""
    return random.Random(f"turnout-demo:{seed}:{stage}")


def ascii_fold(text: str) -> str:
    """Lower-case ASCII letters and digits only: "Ó Súilleabháin" -> "osuilleabhain"."""
    text = "".join(_ROMANISED.get(ch, ch) for ch in text).translate(_FOLD)
    text = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", text.encode("ascii", "ignore").decode().lower())


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(tuple(weights), weights=tuple(weights.values()))[0]


def plan_districts(
    rng: random.Random, count: int, taken: frozenset[str] = frozenset()
) -> list[DistrictSpec]:
    """``count`` district names, unique case-insensitively and against ``taken`` (casefolded)."""
    base = list(DISTRICTS)
    rng.shuffle(base)
    used = set(taken)
    plans: list[DistrictSpec] = []

    def candidates() -> Iterator[tuple[str, str]]:
        yield from base
        for qualifier in DISTRICT_QUALIFIERS:
            yield from ((f"{name} {qualifier}", region) for name, region in base)
        round_ = 2
        while True:
            yield from ((f"{name} {round_}", region) for name, region in base)
            round_ += 1

    for name, region in candidates():
        if len(plans) == count:
            break
        if name.casefold() in used:
            continue
        used.add(name.casefold())
        # Log-normal sizes: a few big cities, many small authorities.
        plans.append(DistrictSpec(name, region, rng.lognormvariate(0, 0.6)))
    return plans


def _school_name(rng: random.Random, district: DistrictSpec) -> tuple[str, float]:
    roll = rng.random()
    if district.region == "Wales" and roll < 0.35:
        prefix, size = rng.choice(WELSH_SCHOOL_PREFIXES)
        return f"{prefix} {rng.choice(WELSH_SCHOOL_PLACES)}", size
    if district.region == "Scotland" and roll < 0.03:
        return f"Bun-sgoil Ghàidhlig {rng.choice(GAELIC_SCHOOL_PLACES)}", 0.8
    if district.region == "Northern Ireland" and roll < 0.05:
        return f"Gaelscoil {rng.choice(IRISH_SCHOOL_PLACES)}", 0.6
    if roll < 0.22:
        nation = district.region if district.region in SCHOOL_FAITH_SUFFIXES else "England"
        suffix = rng.choice(SCHOOL_FAITH_SUFFIXES[nation])
        size = 1.0 if "Primary" in suffix or "Infant" in suffix or "Junior" in suffix else 3.0
        return f"{rng.choice(SCHOOL_SAINTS)} {suffix}", size
    if roll < 0.27:
        # "Newry Grammar School", not "Newry, Mourne and Down Grammar School".
        town = re.split(r",| and ", district.name)[0]
        kind, size = rng.choice(
            (("Grammar School", 3.0), ("Academy", 3.0), ("College", 2.5), ("Studio School", 0.6))
        )
        return f"{town} {kind}", size
    (suffix, size) = rng.choices(SCHOOL_SUFFIXES, weights=SCHOOL_SUFFIX_WEIGHTS)[0]
    return f"{rng.choice(SCHOOL_PLACES)} {suffix}", size


def plan_schools(
    rng: random.Random,
    districts: Sequence[DistrictSpec],
    count: int,
    taken_urns: frozenset[str] = frozenset(),
    first_urn: int = 100000,
) -> list[SchoolSpec]:
    """``count`` schools spread over ``districts``, unique by name within a district."""
    cum = list(accumulate(d.weight for d in districts))
    seen: set[tuple[int, str]] = set()
    plans: list[SchoolSpec] = []
    urn = first_urn
    for i in range(count):
        # Every district gets a school before the big ones take the rest.
        d = i if i < len(districts) else bisect(cum, rng.random() * cum[-1])
        district = districts[d]
        for attempt in range(20):
            name, size = _school_name(rng, district)
            if attempt == 19:
                name = f"{name} (Site {i})"
            if (d, name_key(name)) not in seen:
                break
        seen.add((d, name_key(name)))
        while str(urn) in taken_urns:
            urn += 1
        plans.append(SchoolSpec(name, str(urn), d, size * rng.uniform(0.5, 1.5)))
        urn += 1
    return plans


def _person(rng: random.Random, origins: Sequence[str], cum: Sequence[float]) -> tuple[str, str]:
    origin = origins[bisect(cum, rng.random() * cum[-1])]
    first = rng.choice(NAME_POOLS[origin][1])
    if rng.random() < MIXED_NAME_SHARE:
        origin = origins[bisect(cum, rng.random() * cum[-1])]
    return first, rng.choice(NAME_POOLS[origin][2])


def _consent(rng: random.Random, now: datetime) -> ConsentSpec | None:
    roll = rng.random()
    if roll >= CURRENT_CONSENT_SHARE + WITHDRAWN_CONSENT_SHARE:
        return None
    given_at = now - timedelta(seconds=rng.uniform(3600, CONSENT_MAX_AGE_DAYS * 86400))
    method = _weighted(rng, CONSENT_METHOD_WEIGHTS)
    source = rng.choice(CONSENT_SOURCES[method]).format(year=given_at.year)
    if roll < CURRENT_CONSENT_SHARE:
        return ConsentSpec(given_at, method, source)
    withdrawn_at = given_at + (now - given_at) * rng.uniform(0.05, 0.95)
    return ConsentSpec(
        given_at, method, source, withdrawn_at, _weighted(rng, WITHDRAWN_HOW_WEIGHTS)
    )


def plan_contacts(
    rng: random.Random,
    count: int,
    schools: Sequence[SchoolSpec],
    district_count: int,
    now: datetime,
) -> Iterator[ContactSpec]:
    """Yield ``count`` supporters lazily, so union scale never sits in memory at once."""
    origins = tuple(NAME_POOLS)
    origin_cum = list(accumulate(NAME_POOLS[o][0] for o in origins))
    school_cum = list(accumulate(s.weight for s in schools))
    roles, role_cum = tuple(ROLE_WEIGHTS), list(accumulate(ROLE_WEIGHTS.values()))
    gotvs, gotv_cum = tuple(GOTV_WEIGHTS), list(accumulate(GOTV_WEIGHTS.values()))
    domains = EMAIL_DOMAINS
    for number in range(1, count + 1):
        first, last = _person(rng, origins, origin_cum)
        local = f"{ascii_fold(first) or 'supporter'}.{ascii_fold(last) or 'member'}.{number}"
        email = f"{local}@{domains[rng.randrange(len(domains))]}"
        mobile = (
            f"{FICTION_MOBILE_PREFIX}{rng.randrange(1000):03d}"
            if rng.random() < MOBILE_SHARE
            else ""
        )
        if schools and rng.random() >= NO_SCHOOL_SHARE:
            school_index: int | None = bisect(school_cum, rng.random() * school_cum[-1])
            district_index = schools[school_index].district_index
        else:
            school_index, district_index = None, rng.randrange(district_count)
        role = roles[bisect(role_cum, rng.random() * role_cum[-1])]
        gotv = gotvs[bisect(gotv_cum, rng.random() * gotv_cum[-1])]
        tags = tuple(
            tag
            for tag, share in TAG_SHARES.items()
            if rng.random()
            < (
                ACTIVIST_PHONE_BANKER_SHARE
                if tag == "phone-banker" and role == Contact.Role.ACTIVIST
                else share
            )
        )
        consent = _consent(rng, now)
        created_at = (
            consent.given_at
            if consent is not None
            else now - timedelta(seconds=rng.uniform(3600, CONSENT_MAX_AGE_DAYS * 86400))
        )
        yield ContactSpec(
            number, first, last, email, mobile, school_index, district_index, role, gotv,
            tags, consent, created_at,
        )  # fmt: skip


def _chunks(items: Iterator[ContactSpec], size: int) -> Iterator[list[ContactSpec]]:
    while chunk := list(islice(items, size)):
        yield chunk


# --- writes ------------------------------------------------------------------------------


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def check_can_seed(options: SeedOptions) -> None:
    """Raise SeedRefused unless seeding with ``options`` is safe here."""
    if options.users and not settings.DEBUG:
        raise SeedRefused(
            "--users creates logins with a published password; it is refused unless DEBUG is on."
        )
    if options.users and options.districts < 2:
        raise SeedRefused("--users needs at least two districts (for lead_a and lead_b).")
    if Contact.objects.exists():
        raise SeedRefused("seed_demo only fills an empty database: supporters already exist.")


def seed(options: SeedOptions, *, progress: ProgressFn = _no_progress) -> SeedResult:
    """Fill an empty database with demo data; all or nothing."""
    started = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        check_can_seed(options)
        district_plans = plan_districts(
            stream(options.seed, "districts"),
            options.districts,
            frozenset(n.casefold() for n in District.objects.values_list("name", flat=True)),
        )
        district_ids = _write_districts(district_plans, progress)
        school_plans = plan_schools(
            stream(options.seed, "schools"),
            district_plans,
            options.schools,
            frozenset(School.objects.exclude(urn=None).values_list("urn", flat=True)),
        )
        school_ids = _write_schools(school_plans, district_ids, options.chunk_size, progress)
        tag_ids = {name: Tag.objects.get_or_create(name=name)[0].pk for name in DEMO_TAGS}
        counts = _write_contacts(
            plan_contacts(
                stream(options.seed, "contacts"),
                options.contacts,
                school_plans,
                len(district_plans),
                now,
            ),
            school_ids,
            district_ids,
            tag_ids,
            options,
            progress,
        )
        campaign = _ensure_campaign(stream(options.seed, "campaign"), now)
        logins = create_demo_users(district_ids) if options.users else []
        counts = {
            "districts": len(district_ids),
            "schools": len(school_ids),
            **counts,
            "users": len(logins),
        }
        audit_record(
            actor=None,
            action=AuditEvent.Action.SEED,
            counts=counts,
            detail={
                "seed": options.seed,
                "contacts": options.contacts,
                "schools": options.schools,
                "districts": options.districts,
                "users": options.users,
            },
        )
    return SeedResult(
        counts=counts,
        seconds=time.perf_counter() - started,
        campaign=campaign,
        logins=logins,
    )


def _write_districts(plans: Sequence[DistrictSpec], progress: ProgressFn) -> list[int]:
    created = District.objects.bulk_create(
        [District(name=p.name, region=p.region) for p in plans], batch_size=5000
    )
    progress("districts", len(created), len(plans))
    return [d.pk for d in created]


def _write_schools(
    plans: Sequence[SchoolSpec], district_ids: Sequence[int], chunk: int, progress: ProgressFn
) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(plans), chunk):
        batch = [
            School(
                name=p.name,
                name_key=name_key(p.name),
                urn=p.urn,
                district_id=district_ids[p.district_index],
            )
            for p in plans[start : start + chunk]
        ]
        ids.extend(s.pk for s in School.objects.bulk_create(batch))
        reset_queries()
        progress("schools", len(ids), len(plans))
    if not plans:
        progress("schools", 0, 0)
    return ids


def _write_contacts(
    specs: Iterator[ContactSpec],
    school_ids: Sequence[int],
    district_ids: Sequence[int],
    tag_ids: dict[str, int],
    options: SeedOptions,
    progress: ProgressFn,
) -> dict[str, int]:
    wording = settings.CONSENT_DEFAULT_WORDING
    version = settings.CONSENT_DEFAULT_VERSION
    Tagging = Contact.tags.through
    done = current = withdrawn = taggings = suppressed = 0
    for chunk in _chunks(specs, options.chunk_size):
        contacts = Contact.objects.bulk_create(
            [
                Contact(
                    first_name=s.first_name,
                    last_name=s.last_name,
                    email=s.email,
                    mobile=s.mobile,
                    school_id=school_ids[s.school_index] if s.school_index is not None else None,
                    district_id=district_ids[s.district_index],
                    role=s.role,
                    gotv_status=s.gotv_status,
                    created_at=s.created_at,
                )
                for s in chunk
            ]
        )
        consents = []
        tagging = []
        # consent_withdraw suppresses the address too; demo data keeps that invariant.
        suppressions = []
        for spec, contact in zip(chunk, contacts, strict=True):
            if (c := spec.consent) is not None:
                consents.append(
                    ConsentRecord(
                        contact_id=contact.pk,
                        channel=ConsentRecord.Channel.EMAIL,
                        given_at=c.given_at,
                        source=c.source,
                        wording=wording,
                        version=version,
                        method=c.method,
                        withdrawn_at=c.withdrawn_at,
                        withdrawn_how=c.withdrawn_how,
                        created_at=c.given_at,
                    )
                )
                if c.withdrawn_at is None:
                    current += 1
                else:
                    withdrawn += 1
                    how = ConsentRecord.WithdrawnHow(c.withdrawn_how)
                    suppressions.append(
                        Suppression(
                            address_hash=address_hash(spec.email),
                            reason=SUPPRESS_AS[how],
                            source=how.label,
                            created_at=c.withdrawn_at,
                        )
                    )
            tagging.extend(Tagging(contact_id=contact.pk, tag_id=tag_ids[t]) for t in spec.tags)
        ConsentRecord.objects.bulk_create(consents)
        Tagging.objects.bulk_create(tagging)
        Suppression.objects.bulk_create(suppressions, ignore_conflicts=True)
        suppressed += len(suppressions)
        done += len(chunk)
        taggings += len(tagging)
        # Under DEBUG every multi-megabyte INSERT would otherwise stay in connection.queries.
        reset_queries()
        progress("contacts", done, options.contacts)
    if options.contacts == 0:
        progress("contacts", 0, 0)
    return {
        "contacts": done,
        "consent_records": current + withdrawn,
        "consent_current": current,
        "consent_withdrawn": withdrawn,
        "consent_none": done - current - withdrawn,
        "tag_links": taggings,
        "suppressed": suppressed,
    }


def _ensure_campaign(rng: random.Random, now: datetime) -> str | None:
    """Create an active campaign unless one is already running; returns its name if created."""
    if Campaign.objects.filter(is_active=True).exists():
        return None
    candidate = rng.choice(CAMPAIGN_CANDIDATES)
    # Whole days at noon read better in the demo than "now + 7 days, 15:42:07".
    noon = timezone.localtime(now).replace(hour=12, minute=0, second=0, microsecond=0)
    campaign = Campaign.objects.create(
        name=f"{candidate} for General Secretary",
        candidate=candidate,
        ballot_opens=noon + timedelta(days=7),
        ballot_closes=noon + timedelta(days=35),
        sender_name=f"{candidate} for General Secretary",
        sender_email="team@campaign.example.org",
        reply_to="replies@campaign.example.org",
        is_active=True,
    )
    return campaign.name


def create_demo_users(district_ids: Sequence[int]) -> list[DemoLogin]:
    """Demo logins for every role, all with DEMO_PASSWORD. Only ever in DEBUG.

    Accounts that already exist keep their password: the developer may have chosen it.
    """
    if not settings.DEBUG:
        raise SeedRefused("Demo logins are refused unless DEBUG is on.")
    if len(district_ids) < 2:
        raise SeedRefused("Demo logins need at least two districts.")
    User = get_user_model()
    admin = User.objects.filter(username="admin").first()
    admin_password: str | None = None
    if admin is None:
        admin = User.objects.create_superuser("admin", "admin@campaign.example.org", DEMO_PASSWORD)
        admin_password = DEMO_PASSWORD
    elif not admin.is_superuser:
        raise SeedRefused("A user called 'admin' exists and is not a superuser.")
    by_id = District.objects.in_bulk(district_ids[:2])
    first, second = by_id[district_ids[0]], by_id[district_ids[1]]
    team = (
        ("organiser", TeamRole.ORGANISER, []),
        ("volunteer", TeamRole.VOLUNTEER, [first, second]),
        ("lead_a", TeamRole.LEAD, [first]),
        ("lead_b", TeamRole.LEAD, [second]),
    )
    logins = [DemoLogin("admin", admin_password, "Superuser")]
    for username, role, districts in team:
        user = User.objects.filter(username=username).first()
        password: str | None = None
        if user is None:
            user = User.objects.create_user(
                username, f"{username}@campaign.example.org", DEMO_PASSWORD
            )
            password = DEMO_PASSWORD
        team_member_set(actor=admin, user=user, role=role, districts=districts)
        logins.append(DemoLogin(username, password, role.label, tuple(d.name for d in districts)))
    return logins

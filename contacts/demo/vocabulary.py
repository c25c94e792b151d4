"""Word lists and proportions for the demo membership: fictional, but believable."""

from __future__ import annotations

from contacts.models import ConsentRecord, Contact

DEMO_TAGS = ("caucus", "phone-banker", "new-starter")
EMAIL_DOMAINS = ("example.org", "example.com", "example.net")
# Ofcom reserves 07700 900000-900999 for drama; no network will ever assign them.
FICTION_MOBILE_PREFIX = "+447700900"


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
ROMANISED = {
    "王": "wang", "李": "li", "张": "zhang", "刘": "liu", "陈": "chen", "杨": "yang",
    "黄": "huang", "伟": "wei", "芳": "fang", "娜": "na", "静": "jing", "磊": "lei",
    "敏": "min", "军": "jun", "丽": "li",
}  # fmt: skip
# Letters NFKD leaves alone because they are not "letter + accent".
ASCII_FOLD_TABLE = str.maketrans(
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

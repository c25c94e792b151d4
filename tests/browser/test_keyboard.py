"""Keyboard use: the skip link comes first, focus is always visible, and the supporter
search works without a mouse."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def _focus_ring(page) -> dict:
    return page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return {tag: document.activeElement.tagName, text: document.activeElement.textContent.trim(),
                           outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }"""
    )


def test_the_first_tab_reaches_the_skip_link_and_it_moves_focus_to_the_content(
    signed_in, lead_a, world
):
    page = signed_in(lead_a, "phone")
    page.goto("/")
    page.keyboard.press("Tab")
    focused = _focus_ring(page)
    assert (focused["tag"], focused["text"]) == ("A", "Skip to main content")
    assert focused["outline"] != "none" and focused["width"] >= 2
    assert page.locator(".skip-link").bounding_box()["y"] >= 0  # shown when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_every_control_in_the_header_shows_a_focus_ring(signed_in, organiser, world):
    page = signed_in(organiser, "desktop")
    page.goto("/")
    seen = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = _focus_ring(page)
        seen.append(focused["text"])
        assert focused["outline"] != "none" and focused["width"] >= 2, focused
    assert {"Dashboard", "Supporters", "Sign out"} <= {text.split(" in admin")[0] for text in seen}


def test_a_supporter_is_found_and_opened_with_the_keyboard_only(
    signed_in, lead_a, world, contact_a
):
    page = signed_in(lead_a, "phone")
    page.goto("/contacts/")
    page.get_by_role("searchbox", name="Search").focus()
    page.keyboard.type("sian.oneill")
    page.keyboard.press("Enter")
    page.locator("#result-summary").get_by_text("1 supporter matches").wait_for()
    link = page.locator("#supporter-results").get_by_role("link", name="Siân O'Neill")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/contacts/{contact_a.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Siân O'Neill"

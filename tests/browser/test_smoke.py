from playwright.sync_api import expect


def test_app_starts_with_both_pages(page):
    expect(page.get_by_role("heading", name="Train")).to_be_visible()
    page.get_by_role("link", name="Latent explorer").click()
    expect(page.get_by_role("heading", name="Latent explorer")).to_be_visible()

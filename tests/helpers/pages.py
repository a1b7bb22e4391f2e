"""Reading the public web pages in tests: their text, links and form controls."""

from html.parser import HTMLParser
from typing import Any

from fastapi.testclient import TestClient

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "a" and dict(attrs).get("href"):
            self.links.append(dict(attrs)["href"] or "")
        if tag in ("script", "style", "title"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


class Page:
    def __init__(self, html: str) -> None:
        self.html = html
        reader = _Reader()
        reader.feed(html)
        self.text = " ".join(" ".join(reader.text).split())
        self.links = reader.links
        self.tags = reader.tags

    def headings(self) -> list[tuple[int, str]]:
        return [(int(tag[1]), "") for tag, _ in self.tags if tag in ("h1", "h2", "h3", "h4")]


def open_page(client: TestClient, path: str, status: int = 200, **kwargs: Any) -> Page:
    response = client.get(path, headers=BROWSER, **kwargs)
    assert response.status_code == status, (path, response.status_code, response.text[:500])
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return Page(response.text)

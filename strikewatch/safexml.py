"""An expat SAX driver that refuses DTD entities, for feedparser's strict parser.

feedparser removes only the ENTITY declarations that start a line; one written on the DOCTYPE's
own line (or in a UTF-16 document, which it re-encodes first) reaches expat, which would expand
it: a billion-laughs bomb, or an external entity naming a local file. This driver stops the parse
at the first entity declaration or external reference instead. feedparser then falls back to its
loose parser, which never expands declared entities, so whatever the feed holds is still read.

`xml.sax.make_parser` loads drivers by module name: feedparser is pointed at this module with
`use_for_feedparser()`.
"""

from __future__ import annotations

from typing import Any
from xml.sax import SAXParseException
from xml.sax.expatreader import ExpatParser


class EntitiesForbidden(SAXParseException):
    """The document declares or references DTD entities, which we never expand."""

    def __init__(self, what: str, locator: Any):
        super().__init__(f"{what} refused (entity declarations are never expanded)", None, locator)


class SafeExpatParser(ExpatParser):
    def reset(self) -> None:
        super().reset()
        parser = self._parser
        parser.EntityDeclHandler = self._forbid_entity
        parser.UnparsedEntityDeclHandler = self._forbid_unparsed
        parser.ExternalEntityRefHandler = self._forbid_external
        try:
            from xml.parsers.expat import XML_PARAM_ENTITY_PARSING_NEVER

            parser.SetParamEntityParsing(XML_PARAM_ENTITY_PARSING_NEVER)
        except (ImportError, AttributeError):
            pass

    def _forbid_entity(self, name: str, *_args: Any) -> None:
        raise EntitiesForbidden(f"entity declaration {name!r}", self)

    def _forbid_unparsed(self, name: str, *_args: Any) -> None:
        raise EntitiesForbidden(f"unparsed entity {name!r}", self)

    def _forbid_external(self, *_args: Any) -> int:
        raise EntitiesForbidden("external entity reference", self)


def create_parser(*args: Any, **kwargs: Any) -> SafeExpatParser:
    """The entry point `xml.sax.make_parser` looks for in a driver module."""
    return SafeExpatParser(*args, **kwargs)


def use_for_feedparser() -> None:
    """Make feedparser's strict parser this driver (and never, say, an installed libxml2)."""
    import feedparser.api

    feedparser.api.PREFERRED_XML_PARSERS = [__name__]

"""Images in an add's messages, described by the configured LLM (Mem0's `llm.config.enable_vision`).

A message's image parts (`{"type": "image_url", "image_url": {"url": …}}`, an http(s) URL or a data:image/… URL)
are handed to the model with a request to describe them: the model's provider fetches a URL, not this server, unless
the operator named its host in FETCH_HOSTS (for a model server that reads only the picture itself, as Ollama's does):
then the server fetches it (memories/fetching.py) and hands the model the picture. A picture larger than the model
reads (a phone's photo of 4,032 x 3,024 pixels, several megabytes), or in a format a model's API may not take (an
iPhone's HEIC, AVIF, TIFF, BMP), is handed to it as a JPEG of at most 2,048 pixels a side, upright. Each description
follows the message's text, and what is stored or extracted from is that text. With vision off (the default) images
are left out, and a message with nothing but images is not stored.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from mem0server.exceptions import InvalidInput, UpstreamError
from memories import prompts, reading
from memories.configuration import server_config_current
from memories.data_urls import base64_content, data_url, is_data_url
from memories.document_reader import IMAGE_MOST_PIXELS
from memories.fetching import fetchable, fetched, http_host
from memories.kept_texts import kept_read_by
from memories.llm import side_by_side
from memories.models import MAX_TEXT_CHARS, ImageDescription

if TYPE_CHECKING:
    from memories.llm import LLMClient
    from memories.services import Message

logger = logging.getLogger("mem0server")

IMAGE_URL_PREFIXES = ("http://", "https://", "data:image/")
# How an image's content starts, by type: an image sent as its content in base64 alone is known by it.
IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
    b"RIFF": "image/webp",  # and "WEBP" at byte 8
}
# An ISO media file ("ftyp" at byte 4) that is an image, by its brand (at byte 8): an iPhone's HEIC, an AVIF.
IMAGE_BRANDS = {b"heic": "image/heic", b"heix": "image/heic", b"mif1": "image/heif", b"avif": "image/avif"}
# The largest image fetched from a host of FETCH_HOSTS (OpenAI takes images up to 20 MB).
FETCHED_IMAGE_MAX_BYTES = 20 * 1024 * 1024
# One red pixel (a PNG): what the connection test asks the model to describe.
RED_PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)
# How long a description is kept for an image sent again (a framework re-sends its whole context each turn), and,
# for an image at an http(s) URL (whose content may change), how long it is used.
IMAGE_DESCRIPTIONS_KEPT_DAYS = 7
URL_DESCRIPTION_HOURS = 1
# What the model is asked of an image, by what it is: "" an image in a message, "page" a scanned page of a PDF.
ASKED = {"": prompts.DESCRIBE_IMAGE, "page": prompts.READ_PAGE}


def vision_client() -> LLMClient | None:
    """The LLM that describes images, or None when vision is off (or no LLM is configured)."""
    client = server_config_current().llm.client
    return client if client is not None and client.vision_details is not None else None


def image_url(url: str) -> str | None:
    """An image part's URL as the model is handed it: an http(s) or data:image/ URL as it is, an image's content in
    base64 alone (Mem0's Vercel AI SDK provider sends an AI SDK file part's data so) as a data URL of its type; None
    for anything else."""
    if url.lower().startswith(IMAGE_URL_PREFIXES):
        return url if is_data_url(url) or http_host(url) else None
    url = "".join(url.split())
    try:
        kind = image_type(base64_content(url)[:12])
    except ValueError:
        return None
    return f"data:{kind};base64,{url}" if kind else None


def image_type(content: bytes) -> str | None:
    """An image's media type by how its content starts (IMAGE_SIGNATURES, IMAGE_BRANDS), or None."""
    for signature, kind in IMAGE_SIGNATURES.items():
        if content.startswith(signature) and (kind != "image/webp" or content[8:12] == b"WEBP"):
            return kind
    return IMAGE_BRANDS.get(content[8:12]) if content[4:8] == b"ftyp" else None


def messages_described(messages: Sequence[Message], account, user_id: str | None = None) -> list[Message]:
    """The messages with each image's description on a line after their text (vision on), or their images left
    out; a message left without text is then not stored (services.memories_add_check). `account`: whose add it is
    (the descriptions it was given before are reused)."""
    client = vision_client()
    urls = list(dict.fromkeys(url for message in messages for url in message.images)) if client else []
    descriptions = _descriptions_of(client, account, urls, user_id=user_id) if urls else {}
    described = []
    for message in messages:
        texts = [message.content] if message.content else []
        texts += [descriptions[url] for url in message.images if url in descriptions]
        # A memory holds MAX_TEXT_CHARS at most: a description after a text that long is cut short.
        described.append(replace(message, content="\n".join(texts)[:MAX_TEXT_CHARS], images=()))
    return described


def images_undescribed(urls: Sequence[str], account) -> int:
    """How many of the images at `urls` the configured model has not described for `account` (none with vision off:
    then no image is read)."""
    client = vision_client() if urls else None  # most adds carry none: nothing to look up
    if client is None:
        return 0
    keys = _keys(client, account, urls)
    return len(set(keys.values()) - set(_descriptions(keys).values_list("key", flat=True)))


def images_size_check(urls: Sequence[str], account) -> None:
    """InvalidInput for an image given as itself (a data URL) and not described for `account` before whose header says
    it holds more than IMAGE_MOST_PIXELS: what describing it refuses (image_handed), said before an add is queued
    rather than failing its event later. Each is read by its header, in the reader's process; none with vision off."""
    client = vision_client() if urls else None
    if client is None:
        return
    keys = _keys(client, account, urls)
    described = set(_descriptions(keys).values_list("key", flat=True))
    for url in dict.fromkeys(urls):
        parts = data_url(url)
        if keys[url] in described or parts is None or not parts.base64:
            continue  # described before, or at an http(s) URL: the model's provider fetches it (or a host named)
        try:
            content = parts.content()
        except ValueError:
            continue  # handed to the model as it was sent, as image_handed does
        size = reading.read_apart("image_size", content, 0, 0, reading.READER_NICENESS, -1) or {}
        if size.get("width", 0) * size.get("height", 0) > IMAGE_MOST_PIXELS:
            raise InvalidInput(too_many_pixels(size["width"], size["height"]))


def _key(client: LLMClient, account, url: str, asked: str) -> str:
    """An image given as itself by its content alone: sent again with another type (an iPhone's photo as image/heif,
    then as base64 alone, known as image/heic) or over other lines, it is the same picture."""
    parts = data_url(url)
    image = "data:" + "".join(parts.payload.split()) if parts is not None and parts.base64 else url
    where = (str(account.pk if account else ""), client.endpoint.base_url, client.model, client.vision_details, image)
    return hashlib.sha256("\0".join((*where, asked) if asked else where).encode()).hexdigest()


def _keys(client: LLMClient, account, urls: Sequence[str], asked: str = "") -> dict[str, str]:
    """Each image URL's key (a hash of it: a data URL may be megabytes long, hashed once), by what the model is asked
    of it (ASKED: "" describes it, "page" reads a scanned page)."""
    return {url: _key(client, account, url, asked) for url in urls}


def _descriptions(keys: dict[str, str]):
    """The kept descriptions of these images (URL → key) that still hold: an image given as itself (a data URL) is
    described for good, one at an http(s) URL for URL_DESCRIPTION_HOURS (what a URL serves may change: a camera's
    latest frame)."""
    recent = timezone.now() - timedelta(hours=URL_DESCRIPTION_HOURS)
    pictures = [key for url, key in keys.items() if is_data_url(url)]
    addresses = [key for url, key in keys.items() if not is_data_url(url)]
    return ImageDescription.objects.filter(Q(key__in=pictures) | Q(key__in=addresses, created_at__gte=recent))


def pictures_described(urls: list[str], account, user_id: str | None = None) -> dict[str, str]:
    """Each picture's description (a data URL; vision on), as an image in a message is described, and kept so: a
    picture attached to an email, made for the model already by the reader that found it."""
    return _descriptions_of(vision_client(), account, urls, made=True, user_id=user_id)


def pages_read(urls: list[str], account, user_id: str | None = None) -> dict[str, str]:
    """Each scanned page's text as the model reads it from the page's picture (a data URL; vision on), kept as an
    image's description is: a document sent again is not read again."""
    return _descriptions_of(vision_client(), account, urls, asked="page", made=True, user_id=user_id)


def _descriptions_of(
    client: LLMClient, account, urls: list[str], asked: str = "", *, made: bool = False, user_id: str | None = None
) -> dict[str, str]:
    """Each image's description (or what else ASKED says): kept ones as they are, the others asked of the model side
    by side (memories/llm.py: one after another, ten images took ten calls' time) and kept. `made`: the pictures are
    made for the model already (memories/document_reader.py: a scanned page's, an email's attached picture), else each
    is handed as image_handed makes it. `user_id`: whose add it is (its scope's), noted on what it read."""
    keys = _keys(client, account, urls, asked)
    texts = dict(_descriptions(keys).values_list("key", "text"))  # by key: one picture sent two ways is one
    new = list({keys[url]: url for url in urls if keys[url] not in texts}.values())
    prompt = ASKED[asked]
    described = [partial(_describe, client, url, prompt, made=made) for url in new]
    for url, text in zip(new, side_by_side(described), strict=True):
        # Two processes describing one image at once: the last one's stays (an older one of a URL is replaced).
        ImageDescription.objects.update_or_create(
            key=keys[url], defaults={"account": account, "text": text, "created_at": timezone.now()}
        )
        texts[keys[url]] = text
    kept_read_by(ImageDescription, set(keys.values()), user_id)  # forgotten with the user (memories/kept_texts.py)
    return {url: texts[key] for url, key in keys.items()}


def _describe(client: LLMClient, url: str, prompt: str, *, made: bool) -> str:
    return image_description(client, _fetched(url) if made else image_handed(_fetched(url)), prompt=prompt)


def image_handed(url: str) -> str:
    """An image given as itself (a data URL) as the model is handed it: as it is when it is small (IMAGE_MOST_BYTES and
    PICTURE_SIDE pixels a side) and a PNG, JPEG, GIF or WebP, else as a JPEG of at most PICTURE_SIDE pixels a side, made
    in the reader's process (memories/reading.py: an image of a few kilobytes can be gigapixels); as it is too when
    Pillow cannot read it there, for the model to say what it makes of it. An http(s) URL as it is: the model's provider
    fetches it."""
    parts = data_url(url)
    if parts is None or not parts.base64:
        return url
    try:
        content = parts.content()
    except ValueError:
        return url
    read = reading.read_apart("image", content, 0, 0, reading.READER_NICENESS, -1)
    if read is not None and read.get("error") == "pixels":
        raise InvalidInput(too_many_pixels(read["width"], read["height"]))
    if read is None or "error" in read:
        why = "it takes too long to read" if read is None else f"Pillow cannot read it: {read['why']}"
        kind = image_type(content)
        logger.info(
            "An image of %s bytes (%s) is handed to the model as it was sent: %s",
            f"{len(content):,}",
            f"{kind} by its first bytes" if kind else "of no image type known by its first bytes",
            why,
        )
        return url
    return url if read.get("small") else f"data:image/jpeg;base64,{read['picture']}"


def too_many_pixels(width: int, height: int) -> str:
    """Why an image of this size is refused (its header says it, before a pixel of it is decoded)."""
    return (
        f"An image of {width:,} x {height:,} pixels ({width * height / 1e6:,.0f} megapixels) holds more than the "
        f"{IMAGE_MOST_PIXELS / 1e6:,.0f} megapixels read (a phone's photo of 48 megapixels, 8,000 x 6,000, is read): "
        "send a smaller picture."
    )


def descriptions_prune() -> int:
    """Drop the descriptions made more than IMAGE_DESCRIPTIONS_KEPT_DAYS ago; how many were dropped."""
    made_before = timezone.now() - timedelta(days=IMAGE_DESCRIPTIONS_KEPT_DAYS)
    return ImageDescription.objects.filter(created_at__lt=made_before).delete()[0]


def _fetched(url: str) -> str:
    """An image URL on a host of FETCH_HOSTS as a data URL of the image it serves; any other URL as it is."""
    if not fetchable(url):
        return url
    image = fetched(url, what="image", max_bytes=FETCHED_IMAGE_MAX_BYTES, expect="image/")
    return f"data:{image.kind};base64,{base64.b64encode(image.content).decode()}"


def image_description(client: LLMClient, url: str, *, prompt: str = prompts.DESCRIBE_IMAGE) -> str:
    """The model's description of the image at `url`, or its answer to another `prompt` about it (a 502 saying what
    vision needs if it refuses images)."""
    ask = {"type": "text", "text": prompt}
    image = {"type": "image_url", "image_url": {"url": url, "detail": client.vision_details}}
    try:
        return client.complete_messages([{"role": "user", "content": [ask, image]}])
    except UpstreamError as exc:
        if exc.code != "provider_bad_request":
            raise
        raise UpstreamError(
            f"{exc.detail} It was asked to describe an image (enable_vision is on): the model may not read images, "
            "its server may not fetch an image given by its http(s) URL (Ollama's reads only data: URLs), or the "
            "image may be unreadable. Turn enable_vision (LLM_VISION) off to leave images out.",
            code=exc.code,
        ) from exc

"""Images in an add's messages (Mem0's enable_vision): described by the configured LLM, the real `openai` client
against the local OpenAI-wire server, with the real database and local embedder."""

from __future__ import annotations

import base64
import io
import logging
import sys
import threading
import zlib
from datetime import timedelta

import pillow_heif
import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from PIL import Image
from rest_framework.test import APIClient

from memories import reading
from memories import vision as vision_module
from memories.document_reader import read as read_document
from memories.documents import DOCUMENT_TYPES, FILE_TYPES
from memories.models import ImageDescription, Memory
from memories.tasks import prune_image_descriptions
from memories.tests.adds import add, stored
from memories.tests.conftest import configure, llm_section
from memories.tests.fake_openai import error
from memories.tests.files import FileHost, grey_png, pdf_of
from memories.vision import IMAGE_DESCRIPTIONS_KEPT_DAYS, RED_PIXEL

PIZZA = "https://example.com/photos/veggie-pizza.jpg"
INLINE = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5"


def image(url: str) -> dict:
    return {"type": "image_url", "image_url": {"url": url}}


def test_with_vision_on_an_image_is_stored_as_what_the_llm_says_it_shows(api_client, vision):
    lunch = {"role": "user", "content": [{"type": "text", "text": "I had this for lunch"}, image(PIZZA)]}
    shared = {"role": "user", "content": image(INLINE)}  # one part alone, the picture itself as a data URL
    assert stored(add(api_client, lunch, shared)) == [
        "I had this for lunch\nA picture of veggie pizza",
        "A picture sent inline",
    ]
    # The model was handed each image as sent, with the detail configured, and asked to describe it.
    calls = vision.chat_calls("describe")
    handed = sorted((c.body["messages"][0]["content"][1] for c in calls), key=str)  # asked side by side
    assert handed == [
        {"type": "image_url", "image_url": {"url": INLINE, "detail": "high"}},
        {"type": "image_url", "image_url": {"url": PIZZA, "detail": "high"}},
    ]
    assert all("Describe it" in c.body["messages"][0]["content"][0]["text"] for c in calls)
    found = api_client.post("/search", {"query": "pizza", "user_id": "alice"}, format="json").json()["results"]
    assert found[0]["memory"] == "I had this for lunch\nA picture of veggie pizza"


def test_an_adds_images_are_described_side_by_side_and_an_image_sent_twice_once(api_client, fake_openai, settings):
    # Each description waits in the model until three are being asked at once (at most 60 s, then it fails): they
    # are, with LLM_ADD_CONCURRENCY 3. One after another, ten images took ten calls' time.
    settings.LLM_ADD_CONCURRENCY = 3
    section = llm_section(fake_openai, enable_vision=True, timeout=60)
    assert configure(api_client, llm=section).status_code == 200
    together = threading.Barrier(3, timeout=60)

    def describe(url):
        together.wait()
        return "A picture of " + url.rsplit("/", 1)[-1].split(".")[0]

    fake_openai.describe = describe
    urls = [f"https://example.com/{name}.png" for name in ("cat", "dog", "owl")]
    again = {"role": "user", "content": [{"type": "text", "text": "Mine again"}, image(urls[0])]}
    assert stored(add(api_client, {"role": "user", "content": [image(url) for url in urls]}, again)) == [
        "A picture of cat\nA picture of dog\nA picture of owl",
        "Mine again\nA picture of cat",
    ]
    assert sorted(fake_openai.described()) == urls  # the cat once


def test_with_inference_the_description_is_what_the_facts_are_drawn_from(api_client, vision):
    answer = add(api_client, {"role": "user", "content": image(PIZZA)}, infer=True)
    assert stored(answer) == ["A picture of veggie pizza"]  # the fake's facts: each user message's text
    [extraction] = vision.chat_calls("extract")
    assert "user: A picture of veggie pizza" in extraction.body["messages"][-1]["content"]


def test_an_image_sent_again_is_not_described_again(api_client, vision):
    # Frameworks send their whole context with each turn: its images are in every add.
    for text in ("Look", "Look again"):
        add(api_client, {"role": "user", "content": [{"type": "text", "text": text}, image(PIZZA)]})
    assert len(vision.chat_calls("describe")) == 1
    assert set(Memory.objects.values_list("text", flat=True)) == {
        "Look\nA picture of veggie pizza",
        "Look again\nA picture of veggie pizza",
    }


def test_images_described_before_are_not_described_again_nor_counted_but_another_accounts_are(
    api_client, vision, settings, make_user
):
    # A framework re-sends its whole context each turn: its earlier images are described once, by whichever process
    # got them first (kept in the database), and count no more toward MAX_IMAGES_PER_ADD.
    settings.MAX_IMAGES_PER_ADD = 2
    earlier = [image(f"https://example.com/frame-{n}.png") for n in range(2)]
    assert len(stored(add(api_client, {"role": "user", "content": earlier}))) == 1
    again = earlier + [image("https://example.com/frame-2.png"), image("https://example.com/frame-3.png")]
    [memory] = stored(add(api_client, {"role": "user", "content": again}))
    assert memory.splitlines() == [f"A picture of frame {n}" for n in range(4)]
    assert len(vision.chat_calls("describe")) == 4
    more = again + [image(f"https://example.com/frame-{n}.png") for n in (4, 5, 6)]
    refused = add(api_client, {"role": "user", "content": more})
    assert refused.status_code == 400, refused.json()
    assert "hold 3 images not described before; at most 2" in refused.json()["detail"]
    # Another account's same image is described for it: no account learns what another one sent.
    bob = APIClient()
    bob.force_authenticate(make_user("bob@example.com"))
    assert stored(add(bob, {"role": "user", "content": earlier[0]})) == ["A picture of frame 0"]
    assert len(vision.chat_calls("describe")) == 5
    # What a URL serves may change (a camera's latest frame): its description is used for an hour; a picture sent as
    # itself (a data URL) is that picture for good.
    assert stored(add(api_client, {"role": "user", "content": image(INLINE)})) == ["A picture sent inline"]
    two_hours_ago = timezone.now() - timedelta(hours=2)
    ImageDescription.objects.filter(text__in=["A picture of frame 2", "A picture sent inline"]).update(
        created_at=two_hours_ago
    )
    vision.describe = lambda url: "A newer frame" if url.endswith("frame-2.png") else "Described again"
    assert stored(add(api_client, {"role": "user", "content": [again[2], image(INLINE)]})) == [
        "A newer frame\nA picture sent inline"
    ]
    assert len(vision.chat_calls("describe")) == 7
    # Kept IMAGE_DESCRIPTIONS_KEPT_DAYS: the hourly prune drops older ones.
    old = timezone.now() - timedelta(days=IMAGE_DESCRIPTIONS_KEPT_DAYS, minutes=1)
    ImageDescription.objects.filter(text="A picture of frame 1").update(created_at=old)
    prune_image_descriptions(timestamp=0)
    assert sorted(ImageDescription.objects.values_list("text", flat=True)) == [
        "A newer frame",
        "A picture of frame 0",
        "A picture of frame 0",
        "A picture of frame 3",
        "A picture sent inline",
    ]


def test_with_vision_off_images_are_left_out_and_no_model_is_asked(api_client, llm):
    lunch = {"role": "user", "content": [{"type": "text", "text": "I had this for lunch"}, image(PIZZA)]}
    odd = {"role": "user", "content": [{"type": "text", "text": "And this"}, image("file:///tmp/x.png")]}
    assert stored(add(api_client, lunch, {"role": "user", "content": image(PIZZA)}, odd)) == [
        "I had this for lunch",
        "And this",  # nothing reads its image, so nothing refuses it either (as before vision)
    ]
    refused = add(api_client, {"role": "user", "content": image(PIZZA)})
    assert refused.status_code == 400 and "while enable_vision is off" in refused.json()["detail"]
    assert llm.chat_calls() == []


def test_an_images_content_in_base64_alone_is_handed_to_the_model_as_a_data_url_of_its_type(api_client, vision):
    # Mem0's Vercel AI SDK provider sends an AI SDK file part's data as it is: an image's content in base64.
    png = RED_PIXEL.split(",", 1)[1]
    jpeg = base64.b64encode(b"\xff\xd8\xff\xe0\x00\x10JFIF").decode()
    # Its bytes as JavaScript writes a Node Buffer or a Uint8Array: the provider sends the data of a file read so.
    gif = b"GIF89a\x01\x00\x01\x00"
    webp = b"RIFF\x1a\x00\x00\x00WEBPVP8L"
    buffer, uint8array = {"type": "Buffer", "data": list(gif)}, {str(index): byte for index, byte in enumerate(webp)}
    sent = [
        {"role": "user", "content": {"type": "image_url", "image_url": {"url": data}}}
        for data in (png, jpeg, buffer, uint8array)
    ]
    assert stored(add(api_client, *sent)) == ["A picture sent inline"] * 4
    assert sorted(vision.described()) == [  # asked side by side
        f"data:image/gif;base64,{base64.b64encode(gif).decode()}",
        f"data:image/jpeg;base64,{jpeg}",
        f"data:image/png;base64,{png}",
        f"data:image/webp;base64,{base64.b64encode(webp).decode()}",
    ]


def picture(url: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def test_a_large_image_is_handed_to_the_model_as_a_jpeg_of_at_most_2048_pixels_a_side_upright(api_client, vision):
    # A phone's photo: 4,032 x 3,024 pixels stored sideways, its EXIF saying to turn it (left half red, right half
    # blue: upright, the top is red); a PNG of 3,000 x 1,000 pixels, half of it transparent.
    photo, exif = Image.new("RGB", (4032, 3024), "blue"), Image.Exif()
    photo.paste("red", (0, 0, 2016, 3024))
    exif[ORIENTATION] = 6  # turned 90 degrees clockwise to be seen
    banner = Image.new("RGBA", (3000, 1000), (0, 128, 0, 255))
    banner.paste((0, 0, 0, 0), (1500, 0, 3000, 1000))
    sent = [saved(photo, "JPEG", exif=exif), saved(banner, "PNG")]
    assert (
        stored(add(api_client, *({"role": "user", "content": image(data)} for data in sent)))
        == ["A picture sent inline"] * 2
    )
    handed = sorted(vision.described(), key=lambda url: picture(url).size)
    assert all(url.startswith("data:image/jpeg;base64,") for url in handed)
    photo, banner = (picture(url).convert("RGB") for url in handed)
    assert photo.size == (1536, 2048) and banner.size == (2048, 683)
    assert close(photo.getpixel((768, 200)), (255, 0, 0)) and close(photo.getpixel((768, 1848)), (0, 0, 255))
    assert close(banner.getpixel((200, 341)), (0, 128, 0)) and close(banner.getpixel((1848, 341)), (255, 255, 255))
    # Sent again: the description kept for the image as it was sent; no model asked.
    assert stored(add(api_client, {"role": "user", "content": image(sent[0])})) == ["A picture sent inline"]
    assert len(vision.described()) == 2


def test_an_image_in_a_format_a_models_api_may_not_take_is_handed_to_it_as_a_jpeg(api_client, vision):
    # An iPhone's HEIC photo (as a data URL, and as its content in base64 alone, as Mem0's Vercel AI SDK provider
    # sends a file part's data), an AVIF, a TIFF: OpenAI's API takes PNG, JPEG, GIF and WebP images only.
    pillow_heif.register_heif_opener()
    pictures = {kind: Image.new("RGB", (400, 300), colour) for kind, colour in [("HEIF", "red"), ("AVIF", "lime")]}
    pictures["TIFF"] = Image.new("RGB", (300, 400), "blue")
    sent = [saved(picture, kind) for kind, picture in pictures.items()]
    sent.append(sent[0].split(",", 1)[1])  # the HEIC's content alone
    assert (
        stored(add(api_client, *({"role": "user", "content": image(url)} for url in sent)))
        == ["A picture sent inline"] * 4
    )
    # The HEIC sent twice, as image/heif and as its content alone (known as image/heic), is described once.
    handed = vision.described()
    assert len(handed) == 3 and all(url.startswith("data:image/jpeg;base64,") for url in handed)
    shown = sorted((picture(url).size, picture(url).convert("RGB").getpixel((100, 100))) for url in handed)
    assert [size for size, _ in shown] == [(300, 400), (400, 300), (400, 300)]
    red, lime, blue = (
        sum(close(colour, rgb) for _, colour in shown) for rgb in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    )
    assert (red, lime, blue) == (1, 1, 1)


def test_an_image_pillow_reads_itself_is_read_without_importing_pillow_heif(monkeypatch):
    # pillow-heif (for an iPhone's HEIC, above) was imported by every image's reader: ~25 ms of CPU of its start.
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # importing it fails
    written = io.BytesIO()
    Image.new("RGB", (300, 200), "red").save(written, "PNG")
    assert read_document("image", written.getvalue(), 0, 0) == {"small": True}
    assert read_document("image_size", written.getvalue(), 0, 0) == {"width": 300, "height": 200}


def _red_png_damaged() -> str:
    """A PNG of 300 x 300 red pixels whose header chunk's checksum no longer matches (a byte of it changed), as a data
    URL."""
    written = io.BytesIO()
    Image.new("RGB", (300, 300), (200, 10, 10)).save(written, "PNG")
    content = bytearray(written.getvalue())
    content[29] ^= 0xFF  # the header chunk's checksum
    return f"data:image/png;base64,{base64.b64encode(bytes(content)).decode()}"


@pytest.mark.parametrize(
    ("sent", "said"),
    [
        # The start of a JPEG: the model's provider says what it makes of it, as before images were made smaller.
        (
            "data:image/jpeg;base64,/9j/4AAQSkZJRg==",
            "An image of 10 bytes (image/jpeg by its first bytes) is handed to the model as it was sent: Pillow "
            "cannot read it: it is cut short (Truncated File Read)",
        ),
        # The line said Pillow's words, "cannot identify image file <_io.BytesIO object at 0x7f…>": an address in the
        # reader's process, not what is wrong with the picture.
        (
            _red_png_damaged(),
            "An image of 913 bytes (image/png by its first bytes) is handed to the model as it was sent: Pillow "
            "cannot read it: its header is damaged, or it is in a format Pillow does not read",
        ),
        (
            "data:image/gif;base64," + base64.b64encode(b"GIF89a" + b"\xff" * 50).decode(),
            "An image of 56 bytes (image/gif by its first bytes) is handed to the model as it was sent: Pillow "
            "cannot read it: its header is damaged, or it is in a format Pillow does not read",
        ),
    ],
)
def test_an_image_pillow_cannot_read_is_handed_to_the_model_as_it_was_sent_and_the_log_says_why(
    api_client, vision, caplog, sent, said
):
    with caplog.at_level(logging.INFO, logger="mem0server"):
        assert stored(add(api_client, {"role": "user", "content": image(sent)})) == ["A picture sent inline"]
    assert vision.described() == [sent]
    assert said in caplog.text
    assert " at 0x" not in caplog.text


@pytest.mark.parametrize(("width", "height"), [(13_000, 13_000), (100_000, 100_000)])
def test_an_image_of_more_pixels_than_read_is_a_400_naming_the_limit_and_no_model_is_asked(
    api_client, vision, width, height
):
    # A PNG of a few hundred bytes claiming 169 million pixels (its decoded pixels filled the reader's 1 GB: a 400
    # saying "MemoryError", or the picture handed to the model as sent), or 10 billion (past Pillow's own bound).
    response = add(
        api_client,
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "The map"},
                image(grey_png(width, height, zlib.compress(b"\0" * 100))),
            ],
        },
    )
    assert response.status_code == 400
    megapixels = f"{width * height / 1e6:,.0f}"
    assert response.json()["detail"] == (
        f"An image of {width:,} x {height:,} pixels ({megapixels} megapixels) holds more than the 52 megapixels read "
        "(a phone's photo of 48 megapixels, 8,000 x 6,000, is read): send a smaller picture."
    )
    assert vision.described() == []
    assert Memory.objects.count() == 0


def webp_claiming(width: int, height: int) -> bytes:
    """A lossless WebP of a few pixels whose header claims width x height (its VP8L header's 14-bit sizes, less one)."""
    small = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(small, "WEBP", lossless=True)
    content = bytearray(small.getvalue())
    assert content[12:16] == b"VP8L" and content[20] == 0x2F
    rest = int.from_bytes(content[21:25], "little") & ~(2**28 - 1)  # its alpha and version bits
    content[21:25] = ((width - 1) | (height - 1) << 14 | rest).to_bytes(4, "little")
    return bytes(content)


def test_a_webp_claiming_more_pixels_than_read_is_a_400_naming_its_size_too(api_client, vision):
    # libwebp's decoder reserves its canvases (2 GB for 16,000 x 16,000) when Pillow opens the file, past the reader's
    # 1 GB: "could not create decoder object", and the image was handed to the model as it was sent (the PNG's 400 said
    # its size); a queued add's check before it is queued passed it.
    content = webp_claiming(16_000, 16_000)
    url = f"data:image/webp;base64,{base64.b64encode(content).decode()}"
    refused = add(api_client, {"role": "user", "content": [{"type": "text", "text": "The map"}, image(url)]})
    assert refused.status_code == 400
    assert refused.json()["detail"] == vision_module.too_many_pixels(16_000, 16_000)
    assert reading.read_apart("image_size", content, 0, 0, 10, -1) == {"width": 16_000, "height": 16_000}
    assert vision.described() == []


def test_a_photo_of_48_megapixels_is_read(api_client, vision):
    assert stored(add(api_client, {"role": "user", "content": image(grey_png(8_000, 6_000))})) == [
        "A picture sent inline"
    ]
    [handed] = vision.described()
    assert handed.startswith("data:image/jpeg;base64,") and picture(handed).size == (2048, 1536)


ORIENTATION = 0x0112


def saved(image: Image.Image, kind: str, **options) -> str:
    written = io.BytesIO()
    image.save(written, kind, **options)
    return f"data:image/{kind.lower()};base64,{base64.b64encode(written.getvalue()).decode()}"


def close(pixel: tuple, colour: tuple) -> bool:
    return all(abs(a - b) <= 16 for a, b in zip(pixel, colour, strict=True))


def test_a_system_messages_image_is_not_described(api_client, vision):
    system = {"role": "system", "content": [{"type": "text", "text": "Be brief"}, image(PIZZA)]}
    assert stored(add(api_client, system, {"role": "user", "content": "Hello"})) == ["Hello"]
    assert vision.chat_calls() == []


def test_an_add_refused_for_another_reason_asks_no_model_to_describe_its_images(api_client, vision, settings):
    settings.METADATA_MAX_BYTES = 10
    refused = add(api_client, {"role": "user", "content": image(PIZZA)}, metadata={"note": "longer than ten bytes"})
    assert refused.status_code == 400 and "metadata" in refused.json()["detail"]
    assert vision.chat_calls() == []


def test_a_model_that_cannot_read_images_says_so_and_nothing_is_stored(api_client, vision):
    vision.chat_queue.append(error(400, "Invalid content type. image_url is only supported by certain models."))
    refused = add(api_client, {"role": "user", "content": "Hello"}, {"role": "user", "content": image(PIZZA)})
    assert refused.status_code == 502, refused.json()
    assert "the model may not read images" in refused.json()["detail"]
    assert Memory.objects.count() == 0


def test_an_image_url_of_another_shape_or_too_many_images_is_a_400_saying_what_it_takes(api_client, vision, settings):
    for url in (
        "file:///etc/passwd",
        "bm90IGFuIGltYWdl",
        "iVBORw0KGgo!",
        "http://[broken",
        "https://",
        5,
        {"href": PIZZA},
    ):
        refused = add(api_client, {"role": "user", "content": [{"type": "text", "text": "Hi"}, image(url)]})
        assert refused.status_code == 400, (url, refused.json())
        says = "Part 1: an image's URL (image_url.url) must be an http(s) URL, a data:image/… URL, or a PNG, JPEG"
        assert says in refused.json()["detail"]
    # The URL alone is taken too (as some clients send it); an image without one has nothing to describe (Mem0's
    # Vercel AI SDK provider sends image_url {} for the SDK's image parts): its message's text is stored.
    assert stored(add(api_client, {"role": "user", "content": {"type": "image_url", "image_url": PIZZA}})) == [
        "A picture of veggie pizza"
    ]
    vercel = {"role": "user", "content": {"type": "image_url", "image_url": {}}}
    assert stored(add(api_client, {"role": "user", "content": "My cat"}, vercel)) == ["My cat"]
    settings.MAX_IMAGES_PER_ADD = 2
    pictures = [image(f"https://example.com/{n}.png") for n in range(3)]
    refused = add(api_client, {"role": "user", "content": pictures})
    assert refused.status_code == 400 and "MAX_IMAGES_PER_ADD" in refused.json()["detail"]
    assert len(vision.chat_calls("describe")) == 1 and Memory.objects.count() == 2


def test_configure_takes_mem0s_vision_settings_and_refuses_an_unknown_detail(api_client, fake_openai):
    assert configure(api_client, llm=llm_section(fake_openai)).status_code == 200
    assert api_client.get("/configure").json()["llm"]["config"]["enable_vision"] is False  # LLM_VISION's default
    turned_on = configure(api_client, llm={"config": {"enable_vision": True}})  # as Mem0's config writes it
    assert turned_on.status_code == 200, turned_on.json()
    llm = api_client.get("/configure").json()["llm"]["config"]
    assert (llm["enable_vision"], llm["vision_details"]) == (True, "auto")
    assert "which also describes images" in api_client.get("/configure").json()["status"]["inference"]
    refused = configure(api_client, llm={"config": {"vision_details": "ultra"}})
    assert refused.status_code == 400 and "llm.config.vision_details" in refused.json()["detail"]


def test_llm_vision_from_the_environment_holds_for_a_provider_set_later_unless_turned_off(
    api_client, fake_openai, settings
):
    settings.LLM_VISION = True
    # A section naming a new provider starts afresh; the environment's vision stays on for it.
    section = llm_section(fake_openai) | {"provider": "ollama"}
    assert configure(api_client, llm=section).status_code == 200
    assert "which also describes images" in api_client.get("/configure").json()["status"]["inference"]
    assert stored(add(api_client, {"role": "user", "content": image(PIZZA)})) == ["A picture of veggie pizza"]
    assert configure(api_client, llm={"config": {"enable_vision": False}}).status_code == 200
    assert "describes images" not in api_client.get("/configure").json()["status"]["inference"]


PNG = base64.b64decode(RED_PIXEL.split(",", 1)[1])


@pytest.fixture
def image_host():
    """An image host: /cat.png, a page that is not an image, a redirect, and an image too large."""
    files = {
        "/cat.png": (200, "image/png", PNG),
        "/page": (200, "text/html", b"<p>not an image</p>"),
        "/moved": (302, "image/png", b""),
        "/big.png": (200, "image/png", PNG * 100),
    }
    with FileHost(files) as url:
        yield url


def test_an_image_on_a_host_the_operator_named_is_fetched_and_handed_to_the_model_as_the_picture(
    api_client, vision, image_host, settings, monkeypatch
):
    # A model server that reads only the picture itself (Ollama's) gets it; an image elsewhere goes as its URL.
    settings.FETCH_HOSTS = ["127.0.0.1"]
    vision.describe = lambda url: "A red dot" if url.startswith("data:image/png;base64,") else "Fetched by the model"
    picture = {"role": "user", "content": image(f"{image_host}/cat.png")}
    assert stored(add(api_client, picture, {"role": "user", "content": image(PIZZA)})) == [
        "A red dot",
        "Fetched by the model",
    ]
    assert sorted(vision.described()) == ["data:image/png;base64," + base64.b64encode(PNG).decode(), PIZZA]
    # What the host answers that is no image is a 400 naming it; a redirect is not followed; nothing is stored.
    monkeypatch.setattr(vision_module, "FETCHED_IMAGE_MAX_BYTES", len(PNG) * 10)
    for path, says in [
        ("/page", "its host sent text/html, not an image"),
        ("/gone.png", "its host answered 404, not an image"),
        ("/moved", "its host answered 302, not an image"),
        ("/big.png", f"is larger than {len(PNG) * 10} bytes"),
    ]:
        refused = add(api_client, {"role": "user", "content": image(image_host + path)})
        assert refused.status_code == 400 and says in refused.json()["detail"], (path, refused.json())
    assert len(vision.chat_calls("describe")) == 2 and Memory.objects.count() == 2


URLS = st.one_of(
    st.sampled_from(
        [PIZZA, INLINE, "", "data:image/", "HTTP://EXAMPLE.COM/A.PNG", "ftp://x", "data:text/plain,hi", "http://[x"]
    ),
    st.text(max_size=40),
    st.integers(),
    st.none(),
    st.dictionaries(st.sampled_from(["url", "detail", "href"]), st.one_of(st.text(max_size=20), st.none()), max_size=2),
    # Bytes as JavaScript writes a Node Buffer or a Uint8Array (Mem0's Vercel AI SDK provider), or nearly so.
    st.builds(lambda data: {"type": "Buffer", "data": data}, st.lists(st.integers(-1, 256), max_size=12)),
    st.builds(lambda data: {str(index): byte for index, byte in enumerate(data)}, st.binary(max_size=12)),
    st.dictionaries(st.sampled_from(["0", "1", "3", "type"]), st.one_of(st.integers(-1, 256), st.text(max_size=3))),
)
PARTS = st.one_of(
    st.builds(lambda url: {"type": "image_url", "image_url": url}, URLS),
    st.builds(lambda url: {"type": "image_url", "image_url": {"url": url}}, URLS),
    st.builds(lambda text: {"type": "text", "text": text}, st.one_of(st.text(max_size=30), st.integers())),
    st.builds(lambda kind: {"type": kind}, st.sampled_from(["image", "file", "pdf_url", "input_audio"])),
    # Documents: their content in base64 (a PDF, text, bytes that are neither), or any URL above.
    st.builds(
        lambda kind, url: {"type": kind, kind: {"url": url}},
        st.sampled_from(DOCUMENT_TYPES),
        st.one_of(
            URLS,
            st.builds(
                lambda text: base64.b64encode(pdf_of(text)).decode(),
                st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
            ),
            st.builds(lambda data: base64.b64encode(data).decode(), st.binary(max_size=20)),
            # A web page, read as its text: markup of any shape, closed or not.
            st.builds(
                lambda text: base64.b64encode(f"<html>{text}".encode()).decode(),
                st.text(st.sampled_from('<>/ ab="&;#x1p'), max_size=30),
            ),
        ),
    ),
    # Files as LLM contexts carry them (OpenAI's, Pipecat's): read when a PDF or text, else left out.
    st.builds(
        lambda kind, key, data, mime: {"type": kind, "file": {key: data, "mime_type": mime}},
        st.sampled_from(FILE_TYPES),
        st.sampled_from(["file_data", "url", "file_id"]),
        st.one_of(
            URLS,
            st.builds(
                lambda data: f"data:application/pdf;base64,{base64.b64encode(data).decode()}", st.binary(max_size=20)
            ),
        ),
        st.sampled_from(["application/pdf", "text/plain", "audio/wav", "", None]),
    ),
    st.just({"image_url": {"url": PIZZA}}),  # no type
)
CONTENTS = st.one_of(PARTS, st.lists(PARTS, max_size=4), st.text(max_size=20), st.none())
ROLES = st.sampled_from(["user", "assistant", "system", "developer", "tool", "model", "function"])


@examples(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], derandomize=True
)
@given(
    messages=st.lists(st.builds(lambda role, content: {"role": role, "content": content}, ROLES, CONTENTS), max_size=4)
)
def test_any_mix_of_content_parts_with_vision_on_is_stored_or_a_400_saying_why(api_client, vision, messages):
    for infer in (False, True):
        response = add(api_client, *messages, infer=infer)
        assert response.status_code in (200, 400), (messages, response.status_code, response.content[:300])
        if response.status_code == 400:
            assert response.json()["detail"]

"""The other process of `tests/test_dds_transport.py`: a node on the `dds` transport.

    python tests/dds_peer.py [--lifetime 60]

  /dds_peer/twist_in  (Twist)  → republished unchanged on /dds_peer/twist_out
  /dds_peer/image_in  (Image)  → '<width>x<height> <encoding> <sha256 of data>' on
                                 /dds_peer/image_digest (String), and the image itself
                                 republished on /dds_peer/image_out
  /dds_peer/set_bool  (SetBool service) → success=True, message 'got <data>'

Prints READY when set up; exits when stdin closes, on SIGTERM, or after --lifetime s.
Discovery is forced to localhost.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys

os.environ["ROBOMATRIX_DISCOVERY"] = "localhost"

from robomatrix import comm  # noqa: E402
from robomatrix.comm.peer import serve  # noqa: E402
from robomatrix.msgs import Image, String, Twist  # noqa: E402
from robomatrix.msgs.srv import SetBool  # noqa: E402


def image_digest(img: Image) -> str:
    return f"{img.width}x{img.height} {img.encoding} {hashlib.sha256(bytes(img.data)).hexdigest()}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lifetime", type=float, default=60.0)
    args = ap.parse_args(argv)

    ctx = comm.Context(transport="dds", discovery="localhost")
    node = comm.Node("dds_peer", context=ctx)
    twist_out = node.create_publisher(Twist, "/dds_peer/twist_out", 10)
    node.create_subscription(Twist, "/dds_peer/twist_in", twist_out.publish, 10)
    digest_out = node.create_publisher(String, "/dds_peer/image_digest", 10)
    image_out = node.create_publisher(Image, "/dds_peer/image_out", 10)

    def on_image(img: Image) -> None:
        digest_out.publish(String(data=image_digest(img)))
        image_out.publish(img)

    node.create_subscription(Image, "/dds_peer/image_in", on_image, 10)

    def set_bool(request, response):
        response.success, response.message = True, f"got {request.data}"
        return response

    node.create_service(SetBool, "/dds_peer/set_bool", set_bool)

    return serve(ctx, [node], args.lifetime)


if __name__ == "__main__":
    sys.exit(main())

"""A local stand-in for the official publishers (127.0.0.1 only, offline), for the fetch tests.

Files are served under ``/<host>/<path>[?query]``, the layout the ``--base-url`` override asks
for; ONS ArcGIS FeatureServer layers answer their ``query`` endpoint with ArcGIS JSON pages,
capped at the server's own ``max_records`` whatever the client asks (as ArcGIS Online does), and
``exceededTransferLimit`` while more remain: Esri JSON (``f=json``; point geometries as ``x``,
``y``) or, for a layer with polygons, GeoJSON (``f=geojson``; the flag under ``properties``).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Layer:
    """One FeatureServer layer: records of attributes, and optional point geometries in
    British National Grid (answered as such only when ``outSR=27700`` is asked for)."""

    records: list[dict[str, object]]
    points: list[tuple[float, float]] | None = None
    points_wgs84: list[tuple[float, float]] | None = None
    #: GeoJSON geometries (WGS84), answered to ``f=geojson``.
    shapes: list[dict[str, object]] | None = None


@dataclass
class Official:
    files: dict[str, bytes] = field(default_factory=dict)
    patterns: list[tuple[re.Pattern[str], bytes]] = field(default_factory=list)
    layers: dict[str, Layer] = field(default_factory=dict)
    max_records: int = 150
    fail_first: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)

    def page(self, name: str, query: dict[str, str]) -> dict[str, object]:
        layer = self.layers[name]
        offset = int(query.get("resultOffset", 0))
        count = min(int(query.get("resultRecordCount", self.max_records)), self.max_records)
        rows = layer.records[offset:offset + count]
        more = offset + len(rows) < len(layer.records)
        if query.get("f") == "geojson":
            assert layer.shapes is not None
            feats = [{"type": "Feature", "id": i, "geometry": layer.shapes[i], "properties": a}
                     for i, a in enumerate(rows, start=offset)]
            return {"type": "FeatureCollection", "features": feats,
                    **({"properties": {"exceededTransferLimit": True}} if more else {})}
        features: list[dict[str, object]] = []
        with_geometry = query.get("returnGeometry", "true").lower() == "true"
        for i, attrs in enumerate(rows, start=offset):
            feature: dict[str, object] = {"attributes": attrs}
            if with_geometry and layer.points is not None:
                pts = layer.points if query.get("outSR") == "27700" else layer.points_wgs84
                assert pts is not None
                feature["geometry"] = {"x": pts[i][0], "y": pts[i][1]}
            features.append(feature)
        doc: dict[str, object] = {
            "objectIdFieldName": "FID",
            "fields": [{"name": k, "type": "esriFieldTypeString", "alias": k}
                       for k in (layer.records[0] if layer.records else {})],
            "features": features,
        }
        if more:
            doc["exceededTransferLimit"] = True
        return doc


_LAYER = re.compile(r"^/services1\.arcgis\.com/\w+/arcgis/rest/services/(\w+)/FeatureServer/0/"
                    r"query$")


def _handler(official: Official) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            official.requests.append(self.path)
            # Percent-escapes compare decoded (%2f and %2F are the same address).
            key = urllib.parse.unquote(self.path.lstrip("/"))
            busy = {urllib.parse.unquote(k): k for k in official.fail_first}
            if key in busy:
                official.fail_first.discard(busy[key])
                return self._send(503, b"busy", "text/plain")
            split = urllib.parse.urlsplit(self.path)
            layer = _LAYER.match(split.path)
            if layer and layer.group(1) in official.layers:
                query = dict(urllib.parse.parse_qsl(split.query))
                if query.get("f") not in ("json", "geojson") or query.get("where") != "1=1":
                    return self._send(200, json.dumps({"error": {
                        "code": 400, "message": "Invalid or missing input parameters."}}
                    ).encode(), "application/json")
                body = json.dumps(official.page(layer.group(1), query)).encode()
                return self._send(200, body, "application/json")
            files = {urllib.parse.unquote(k): v for k, v in official.files.items()}
            if key in files:
                return self._send(200, files[key], "application/octet-stream")
            for pattern, data in official.patterns:
                if pattern.fullmatch(key):
                    return self._send(200, data, "text/csv")
            self._send(404, b"<html><body>Not found</body></html>", "text/html")

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def serve(official: Official) -> Iterator[str]:
    """Serve ``official`` on 127.0.0.1; yields the base address."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(official))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

"""Reads a camera with a third-party python ONVIF client and prints one JSON object.

    python onvif_client_check.py LIB HOST PORT USER PASSWORD

LIB is `zeep` (onvif-zeep, sync), `zeep-async` (onvif-zeep-async) or `python` (onvif-python with
HTTP digest). Used by tests/mock_onvif_interop.rs against camlink's mock camera. On failure it
prints {"error": "..."} and exits 1."""
import asyncio
import inspect
import json
import os
import sys

lib, host, port, user, pw = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]


async def maybe(x):
    return await x if inspect.isawaitable(x) else x


async def zeep_family():
    import onvif
    from onvif import ONVIFCamera
    pkgdir = os.path.dirname(onvif.__file__)
    wsdl = os.path.join(pkgdir, "wsdl")
    if not os.path.isdir(wsdl):
        wsdl = os.path.join(os.path.dirname(pkgdir), "wsdl")
    cam = ONVIFCamera(host, port, user, pw, wsdl)
    if hasattr(cam, "update_xaddrs"):
        await maybe(cam.update_xaddrs())
    try:
        dev = await maybe(cam.create_devicemgmt_service())
        info = await maybe(dev.GetDeviceInformation())
        media = await maybe(cam.create_media_service())
        profiles = await maybe(media.GetProfiles())
        uris = []
        for p in profiles:
            req = {"StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                   "ProfileToken": p.token}
            uris.append((await maybe(media.GetStreamUri(req))).Uri)
        return {
            "manufacturer": info.Manufacturer, "model": info.Model,
            "firmware": info.FirmwareVersion, "serial": info.SerialNumber,
            "profiles": [p.token for p in profiles], "stream_uris": uris,
        }
    finally:
        if hasattr(cam, "close"):
            await maybe(cam.close())


def onvif_python():
    from onvif import ONVIFClient
    from onvif.operator import CacheMode
    client = ONVIFClient(host, port, user, pw, http_digest=True, cache=CacheMode.NONE)
    dev = client.devicemgmt()
    info = dev.GetDeviceInformation()
    media = client.media()
    profiles = media.GetProfiles()
    uris = []
    for p in profiles:
        r = media.GetStreamUri(StreamSetup={"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                               ProfileToken=p.token)
        uris.append(r.Uri)
    return {
        "manufacturer": info.Manufacturer, "model": info.Model,
        "firmware": info.FirmwareVersion, "serial": info.SerialNumber,
        "profiles": [p.token for p in profiles], "stream_uris": uris,
    }


try:
    result = onvif_python() if lib == "python" else asyncio.run(zeep_family())
    print(json.dumps(result))
except Exception as e:  # report any failure as JSON for the test to show
    print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
    sys.exit(1)

#!/usr/bin/env python3
"""make_vectors.py — computes the signature vectors of the schemes added
with SPEC v2 (tests/data/vectors/*.json), independently of hookd's C code:
HMACs with Python's hmac/hashlib, Ed25519 and ECDSA P-256 with the
`cryptography` package (python3-cryptography on Debian).

Published vectors (Twilio's, SendGrid's, Square's) are written as the
providers' own test suites state them; the script only checks that they
hold. Keys are fixed, so Ed25519 vectors come out identical on every run;
ECDSA signatures are randomised, so sendgrid.json changes (and stays
valid) each time. Run from the repository root:

    python3 tests/tools/make_vectors.py
"""
import base64
import hashlib
import hmac
import json
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "vectors")
TS = 1700000000
COMPUTED = "computed by tests/tools/make_vectors.py ({how}), not by hookd"


def write(name, vec):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(vec, f, indent=2, ensure_ascii=False)
        f.write("\n")


def hmac_hex(key, msg, alg=hashlib.sha256):
    return hmac.new(key.encode(), msg.encode(), alg).hexdigest()


def hmac_b64(key, msg, alg=hashlib.sha256):
    return base64.b64encode(hmac.new(key.encode(), msg.encode(), alg).digest()).decode()


def ed_key(seed_text):
    seed = hashlib.sha256(seed_text.encode()).digest()
    priv = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    raw = priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return priv, raw


def standard():
    priv, raw = ed_key("hookd standard v1a test key")
    mid, body = "msg_2Lh9KAvQjkJTZqPnKwYb4m", '{"type":"invoice.paid","data":{"id":"in_1"}}'
    sig = base64.b64encode(priv.sign(f"{mid}.{TS}.{body}".encode())).decode()
    write("standard-v1a.json", {
        "provider": "Standard Webhooks", "scheme": "standard",
        "source": COMPUTED.format(how="Ed25519 with python3-cryptography; Standard Webhooks "
                                  "publishes no v1a example"),
        "public_key": "whpk_" + base64.b64encode(raw).decode(),
        "payload": body, "timestamp": TS,
        "headers": {"webhook-id": mid, "webhook-timestamp": str(TS),
                    "webhook-signature": "v1,Zm9yIGFub3RoZXIgc2VjcmV0IG5vdCBjb25maWd1cmVkISE= v1a," + sig},
        "expect_id": mid, "expect_type": "invoice.paid"})


def discord():
    priv, raw = ed_key("hookd discord test key")
    for name, body, hs, etype in (
            ("discord-ping.json", '{"id":"1","application_id":"2","type":1,"version":1}',
             {"status": 200, "body": '{"type": 1}'}, None),
            ("discord.json", '{"id":"1148473290853548102","type":2,"data":{"name":"ping"}}',
             None, "2")):
        sig = priv.sign((str(TS) + body).encode()).hex()
        vec = {"provider": "Discord", "scheme": "discord",
               "source": COMPUTED.format(how="Ed25519 with python3-cryptography over timestamp + body"),
               "public_key": raw.hex(), "payload": body, "timestamp": TS,
               "headers": {"X-Signature-Ed25519": sig, "X-Signature-Timestamp": str(TS)}}
        if hs:
            vec["expect_handshake"] = hs
        else:
            vec["expect_id"], vec["expect_type"] = "1148473290853548102", etype
        write(name, vec)


def sendgrid():
    pub = ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7"
           "yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==")
    write("sendgrid-published.json", {
        "provider": "SendGrid", "scheme": "sendgrid",
        "source": "sendgrid/sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js "
                  "('should verify a valid signature')",
        "public_key": pub,
        "payload": '{"category":"example_payload","event":"test_event","message_id":"message_id"}',
        "timestamp": 1588788367,
        "headers": {"X-Twilio-Email-Event-Webhook-Signature":
                    "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=",
                    "X-Twilio-Email-Event-Webhook-Timestamp": "1588788367"}})
    priv = ec.derive_private_key(int.from_bytes(hashlib.sha256(b"hookd sendgrid").digest(), "big"),
                                 ec.SECP256R1())
    der = priv.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    body = '[{"email":"a@example.com","event":"delivered","sg_event_id":"ZGVsaXZlcmVk"}]\r\n'
    sig = priv.sign((str(TS) + body).encode(), ec.ECDSA(hashes.SHA256()))
    write("sendgrid.json", {
        "provider": "SendGrid", "scheme": "sendgrid",
        "source": COMPUTED.format(how="ECDSA P-256/SHA-256 with python3-cryptography"),
        "public_key": base64.b64encode(der).decode(), "payload": body, "timestamp": TS,
        "headers": {"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(sig).decode(),
                    "X-Twilio-Email-Event-Webhook-Timestamp": str(TS)},
        "expect_id": hashlib.sha256(body.encode()).hexdigest()})


def twilio():
    url, query = "https://mycompany.com/myapp.php", "foo=1&bar=2"
    form = ("To=%2B18005551212&Caller=%2B12349013030&CallSid=CA1234567890ABCDE&Digits=1234"
            "&From=%2B12349013030")
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
              "From": "+12349013030", "To": "+18005551212"}
    signed = url + "?" + query + "".join(k + params[k] for k in sorted(params))
    assert hmac_b64("12345", signed, hashlib.sha1) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    write("twilio-published-form.json", {
        "provider": "Twilio", "scheme": "twilio",
        "source": "Twilio's 'Validating requests' documentation example (auth token 12345), "
                  "also twilio-python tests/unit/test_request_validator.py",
        "secret": "12345", "config": {"public_url": url}, "http": {"method": "POST", "query": query},
        "payload": form,
        "headers": {"Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="},
        "expect_id": "CA1234567890ABCDE"})
    body = '{"property": "value", "boolean": true}'
    h = hashlib.sha256(body.encode()).hexdigest()
    assert hmac_b64("12345", url + "?" + query + "&bodySHA256=" + h, hashlib.sha1) == \
        "a9nBmqA0ju/hNViExpshrM61xv4="
    write("twilio-published-json.json", {
        "provider": "Twilio", "scheme": "twilio",
        "source": "twilio-python tests/unit/test_request_validator.py (validate with body hash)",
        "secret": "12345", "config": {"public_url": url},
        "http": {"method": "POST", "query": query + "&bodySHA256=" + h}, "payload": body,
        "headers": {"Content-Type": "application/json",
                    "X-Twilio-Signature": "a9nBmqA0ju/hNViExpshrM61xv4="},
        "expect_id": h})


def hmac_schemes():
    body = '{"event_id":"evt_01h8","event_type":"transaction.completed","data":{}}'
    wrong = "0" * 64
    write("paddle.json", {
        "provider": "Paddle", "scheme": "paddle",
        "source": COMPUTED.format(how="HMAC-SHA256 of 'TS:body' with python hmac; the second h1 "
                                  "matches, as while a secret is rotated"),
        "secret": "pdl_ntfset_01h8_secret", "payload": body, "timestamp": TS,
        "headers": {"Paddle-Signature": f"ts={TS};h1={wrong};h1=" +
                    hmac_hex("pdl_ntfset_01h8_secret", f"{TS}:{body}")},
        "expect_id": "evt_01h8", "expect_type": "transaction.completed"})
    zsec = "zoom-secret-token"
    body = '{"event":"meeting.started","event_ts":1700000000000,"payload":{"object":{"id":"1"}}}'
    write("zoom.json", {
        "provider": "Zoom", "scheme": "zoom",
        "source": COMPUTED.format(how="HMAC-SHA256 of 'v0:TS:body' with python hmac"),
        "secret": zsec, "payload": body, "timestamp": TS,
        "headers": {"x-zm-signature": "v0=" + hmac_hex(zsec, f"v0:{TS}:{body}"),
                    "x-zm-request-timestamp": str(TS)},
        "expect_id": hashlib.sha256(body.encode()).hexdigest(), "expect_type": "meeting.started"})
    plain = "qgg8vlvZRS6UYooatFL8Aw"
    body = '{"payload":{"plainToken":"%s"},"event_ts":1700000000000,"event":"endpoint.url_validation"}' % plain
    write("zoom-url-validation.json", {
        "provider": "Zoom", "scheme": "zoom",
        "source": COMPUTED.format(how="HMAC-SHA256 with python hmac; encryptedToken = hex "
                                  "HMAC-SHA256 of plainToken"),
        "secret": zsec, "payload": body, "timestamp": TS,
        "headers": {"x-zm-signature": "v0=" + hmac_hex(zsec, f"v0:{TS}:{body}"),
                    "x-zm-request-timestamp": str(TS)},
        "expect_handshake": {"status": 200, "body": json.dumps(
            {"plainToken": plain, "encryptedToken": hmac_hex(zsec, plain)})}})
    msec = "meta-app-secret"
    body = '{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[]}]}'
    write("meta.json", {
        "provider": "Meta (WhatsApp)", "scheme": "meta",
        "source": COMPUTED.format(how="HMAC-SHA256 of the body with python hmac"),
        "secret": msec, "payload": body,
        "headers": {"X-Hub-Signature-256": "sha256=" + hmac_hex(msec, body)},
        "expect_id": hashlib.sha256(body.encode()).hexdigest(),
        "expect_type": "whatsapp_business_account"})
    tsec, mid, tts = "twitch-eventsub-secret", "befa7b53-d79d-478f-86b9-120f112b044e", \
        "2023-11-14T22:13:20.123456789Z"
    for name, mtype, body, extra in (
            ("twitch.json", "notification",
             '{"subscription":{"type":"channel.follow"},"event":{"user_id":"1"}}',
             {"expect_id": mid, "expect_type": "channel.follow"}),
            ("twitch-verification.json", "webhook_callback_verification",
             '{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"type":"channel.follow"}}',
             {"expect_handshake": {"status": 200, "body": "pogchamp-kappa-360noscope-vohiyo"}})):
        vec = {"provider": "Twitch", "scheme": "twitch",
               "source": COMPUTED.format(how="HMAC-SHA256 of id + timestamp + body with python hmac"),
               "secret": tsec, "payload": body, "timestamp": TS,
               "headers": {"Twitch-Eventsub-Message-Id": mid,
                           "Twitch-Eventsub-Message-Timestamp": tts,
                           "Twitch-Eventsub-Message-Type": mtype,
                           "Twitch-Eventsub-Message-Signature":
                               "sha256=" + hmac_hex(tsec, mid + tts + body)}}
        vec.update(extra)
        write(name, vec)
    body = '{"object_kind":"push","ref":"refs/heads/main"}'
    write("token-gitlab.json", {
        "provider": "GitLab", "scheme": "token",
        "source": "GitLab sends the configured secret token as is in X-Gitlab-Token",
        "secret": "gitlab-shared-token", "payload": body,
        "headers": {"X-Gitlab-Token": "gitlab-shared-token", "X-Gitlab-Event": "Push Hook",
                    "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e"},
        "expect_id": "13792a34-cac6-4fda-95a8-c58e00a3954e", "expect_type": "Push Hook"})


def generic():
    url, secret = "https://hooks.example.com/hooks/hubspot", "hubspot-client-secret"
    body, ms = '[{"eventId":1,"subscriptionType":"contact.creation","objectId":123}]', \
        str(TS * 1000 + 123)
    write("hmac-hubspot-v3.json", {
        "provider": "HubSpot (signature v3)", "scheme": "hmac",
        "source": COMPUTED.format(how="base64 HMAC-SHA256 of method + URL + body + timestamp "
                                  "(milliseconds), as HubSpot documents v3, with python hmac"),
        "secret": secret, "payload": body, "timestamp": TS,
        "config": {"signature_header": "X-HubSpot-Signature-v3", "algorithm": "sha256",
                   "encoding": "base64", "timestamp_header": "X-HubSpot-Request-Timestamp",
                   "timestamp_format": "milliseconds", "public_url": url,
                   "signed_content": "{method}{url}{body}{timestamp}"},
        "http": {"method": "POST", "query": "portal=62515"},
        "headers": {"X-HubSpot-Signature-v3": hmac_b64(secret, "POST" + url + "?portal=62515" + body + ms),
                    "X-HubSpot-Request-Timestamp": ms}})
    body = ('{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b'
            '-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type'
            '":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}')
    url = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"
    assert hmac_b64("Ibxx_5AKakO-3qeNVR61Dw", url + body) == "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="
    write("hmac-square-published.json", {
        "provider": "Square", "scheme": "hmac",
        "source": "Square's SDKs' WebhooksHelper tests (square-python-sdk, square-java-sdk: "
                  "testSignatureValidationPass)",
        "secret": "Ibxx_5AKakO-3qeNVR61Dw", "payload": body,
        "config": {"signature_header": "x-square-hmacsha256-signature", "algorithm": "sha256",
                   "encoding": "base64", "public_url": url, "signed_content": "{url}{body}",
                   "id": "json:/event_id", "type": "json:/type"},
        "headers": {"x-square-hmacsha256-signature": "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="}})


if __name__ == "__main__":
    standard()
    discord()
    sendgrid()
    twilio()
    hmac_schemes()
    generic()

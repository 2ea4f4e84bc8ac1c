# Generates the botocore SigV4 test vectors in this folder at a fixed clock.
# The JSON files are committed so that the Go tests never need Python; rerun
# only to refresh them:  python3 gen_vectors.py .
import datetime, json, sys
from unittest import mock
import botocore, botocore.auth, botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials

FIXED = datetime.datetime(2026, 3, 15, 10, 11, 12)
AKID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
OUT = sys.argv[1]

def emit(name, desc, region, url, host, method, headers, body, token=None):
    # headers: list of (name, value) as they go on the wire, Host excluded.
    vec = {
        "description": desc,
        "generator": "botocore " + botocore.__version__,
        "region": region,
        "service": "kms",
        "now": FIXED.strftime("%Y%m%dT%H%M%SZ"),
        "access_key_id": AKID,
        "secret_access_key": SECRET,
        "method": method,
        "url": url,
        "host": host,
        "headers": [[k, v] for k, v in headers],
        "body": body.decode("utf-8"),
        "expected_access_key_id": AKID,
    }
    with open(f"{OUT}/{name}.json", "w") as f:
        json.dump(vec, f, indent=2, ensure_ascii=False)
        f.write("\n")

def sign_raw(name, desc, region, url, host, headers, body, token=None, extra=()):
    req = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    for k, v in extra:
        req.headers.add_header(k, v)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=FIXED):
        SigV4Auth(Credentials(AKID, SECRET, token), "kms", region).add_auth(req)
    wire = [(k, v) for k, v in req.headers.items()]
    wire.append(("Content-Length", str(len(body))))
    emit(name, desc, region, url, host, "POST", wire, body, token)

# 1. The AWS CLI / boto3 client path: a real KMS client, request captured before send.
def client_vector(name, desc, region, endpoint, op, params, token=None):
    captured = {}
    def before_send(request, **kw):
        captured["req"] = request
        raw = mock.Mock()
        raw.stream.return_value = iter([b"{}"])
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"}, raw)
    sess = botocore.session.get_session()
    c = sess.create_client("kms", region_name=region, endpoint_url=endpoint,
                           aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                           aws_session_token=token,
                           config=Config(user_agent="keyraft-sigv4-testdata (botocore " + botocore.__version__ + ")"))
    c.meta.events.register("before-send.kms.*", before_send)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=FIXED):
        try:
            getattr(c, op)(**params)
        except Exception:
            pass
    r = captured["req"]
    body = r.body or b""
    if isinstance(body, str):
        body = body.encode()
    host = endpoint.split("://", 1)[1].rstrip("/")
    wire = [(k, v if isinstance(v, str) else v.decode()) for k, v in r.headers.items()]
    if not any(k.lower() == "content-length" for k, _ in wire):
        wire.append(("Content-Length", str(len(body))))
    emit(name, desc, region, r.url, host, r.method, wire, body, token)

client_vector("client_list_keys", "botocore KMS client ListKeys against an --endpoint-url with a port",
              "us-east-1", "http://127.0.0.1:8200", "list_keys", {})
client_vector("client_encrypt", "botocore KMS client Encrypt with binary plaintext and encryption context",
              "eu-west-1", "https://kms.example.internal", "encrypt",
              {"KeyId": "alias/app", "Plaintext": b"\x00\x01secret-bytes\xff",
               "EncryptionContext": {"purpose": "test", "unicode": "h\u00e9llo \u4e16\u754c"}})
client_vector("client_session_token", "botocore KMS client GenerateDataKey with session credentials",
              "ap-southeast-2", "https://kms.example.internal:8443", "generate_data_key",
              {"KeyId": "alias/app", "KeySpec": "AES_256"}, token="FwoGZXIvYXdzEXAMPLESESSIONTOKEN//+==")
sign_raw("raw_empty_body", "SigV4Auth over an empty body", "us-east-1",
         "http://localhost:8200/", "localhost:8200",
         [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "TrentService.ListAliases")], b"")
sign_raw("raw_repeated_and_spaced_headers",
         "SigV4Auth with a repeated header and inner runs of spaces in a signed value", "us-east-1",
         "http://localhost:8200/", "localhost:8200",
         [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "TrentService.DescribeKey"),
          ("X-Amz-Meta-Note", "  several   inner    spaces  ")],
         b'{"KeyId": "alias/app"}', extra=[("X-Amz-Meta-Dup", "first"), ("X-Amz-Meta-Dup", "second")])

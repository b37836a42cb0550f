"""A long-running boto3 application (Debian's python3-boto3 and python3-botocore
under /usr/bin/python3): one boto3 Session, its credentials from botocore's
default chain (credentials file, credential_process, container endpoint, IMDS),
one STS client. Commands on stdin, one JSON line out per command:

  get          creds.get_frozen_credentials(): what the client signs with now;
               botocore refreshes RefreshableCredentials here when they are
               inside its 15-minute advisory or 10-minute mandatory window
  call         sts.get_caller_identity() against CREDCHECK_STS_ENDPOINT
  warp SECONDS moves the clock the session's RefreshableCredentials read (the
               time_fetcher it was constructed with) SECONDS ahead, as if the
               process had been running that much longer
"""

import datetime
import json
import os
import sys


def out(o):
    sys.stdout.write(json.dumps(o) + "\n")
    sys.stdout.flush()


try:
    import boto3
    import botocore
    import botocore.exceptions
except Exception as e:  # reported as the first line: the test fails naming the package
    out({"ok": False, "error": repr(e)})
    sys.exit(1)

session = boto3.Session(region_name="us-east-1")
endpoint = os.environ.get("CREDCHECK_STS_ENDPOINT")
state = {"creds": None, "client": None, "warp": datetime.timedelta(0)}


def creds():
    if state["creds"] is None:
        state["creds"] = session.get_credentials()
        if state["creds"] is None:
            raise RuntimeError("botocore found no credentials")
    return state["creds"]


def client():
    if state["client"] is None:
        creds()
        state["client"] = session.client("sts", endpoint_url=endpoint, region_name="us-east-1")
    return state["client"]


def get(_):
    c = creds()
    f = c.get_frozen_credentials()
    expiry = getattr(c, "_expiry_time", None)
    return {
        "creds": {
            "accessKeyId": f.access_key,
            "secretAccessKey": f.secret_key,
            "sessionToken": f.token,
            "expiration": expiry.isoformat() if expiry else None,
            "provider": c.method,
        }
    }


def call(_):
    return {"arn": client().get_caller_identity()["Arn"]}


def warp(args):
    c = creds()
    if not hasattr(c, "_time_fetcher"):
        raise RuntimeError("these credentials never refresh (%s): nothing to warp" % c.method)
    real = c._time_fetcher if "real" not in state else state["real"]
    state["real"] = real
    state["warp"] += datetime.timedelta(seconds=float(args[0]))
    c._time_fetcher = lambda: real() + state["warp"]
    return {}


commands = {"get": get, "call": call, "warp": warp}
out({"ok": True, "versions": {"boto3": boto3.__version__, "botocore": botocore.__version__}})
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    try:
        out({"ok": True, **commands[words[0]](words[1:])})
    except botocore.exceptions.ClientError as e:
        out({"ok": False, "error": str(e), "code": e.response.get("Error", {}).get("Code")})
    except Exception as e:
        out({"ok": False, "error": repr(e)})

#!/usr/bin/python3
"""
A SAML 2.0 service provider made with pysaml2 (Debian's python3-pysaml2, run by Debian's own
/usr/bin/python3), so that test/saml.pysaml2.test.ts can prove that a SAML implementation
eidhub's authors did not write completes a login against eidhub's identity provider.

Every command takes --state DIR, a directory that keeps the SP's keys and settings between
calls, prints one JSON object on stdout, and on failure exits 1 with one line on stderr.

  init --entity-id URI --acs URL [--encryption]
      RSA-2048 signing key and self-signed certificate (and with --encryption a second pair for
      encrypted assertions) into DIR; the entity ID and the HTTP-POST AssertionConsumerService.
  metadata
      {"metadata": "<md:EntityDescriptor ...>"} from saml2.metadata.create_metadata_string.
  authn-request --idp-metadata FILE [--metadata-cert PEM] [--relay-state TEXT] [--sigalg URI]
      Keeps the IdP's metadata in DIR (with --metadata-cert only once its signature verifies
      with that certificate) and prints {"url", "requestId", "metadataSignatureVerified"}: an
      AuthnRequest signed with rsa-sha256 (or --sigalg) on the HTTP-Redirect binding.
  parse-response --request-id ID   (the SAMLResponse form field, base64, on stdin)
      Checks the Response as pysaml2 does (signatures from the IdP's metadata, InResponseTo,
      audience, recipient, times; decrypts an EncryptedAssertion) and prints what it read.

pysaml2 logs to DIR/pysaml2.log, never to the terminal. There and in the error line, phone
numbers are masked: pysaml2's log lines and exceptions may quote the assertion.
"""
import argparse
import base64
import datetime
import json
import logging
import os
import re
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.md import entity_descriptor_from_string
from saml2.metadata import create_metadata_string
from saml2.samlp import response_from_string
from saml2.sigver import security_context
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

XMLSEC1 = "/usr/bin/xmlsec1"
ENTITY_DESCRIPTOR = "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor"
SETTINGS = "sp.json"
IDP_METADATA = "idp-metadata.xml"


class PeerError(Exception):
    """A refusal this script words itself; anything else is reported with its type."""


def path_in(state, name):
    return os.path.join(state, name)


def write_key_pair(state, stem, common_name):
    """An RSA key and a self-signed certificate for it, as PEM files DIR/{stem}.key, .crt."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = path_in(state, stem + ".key"), path_in(state, stem + ".crt")
    with open(key_file, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    os.chmod(key_file, 0o600)
    with open(cert_file, "wb") as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))
    return {"key_file": key_file, "cert_file": cert_file}


def load_settings(state):
    try:
        with open(path_in(state, SETTINGS)) as f:
            return json.load(f)
    except FileNotFoundError:
        raise PeerError(f"{state} holds no service provider: run init first") from None


def sp_config(state):
    """The pysaml2 configuration; each setting here is one the interop depends on."""
    settings = load_settings(state)
    idp_metadata = path_in(state, IDP_METADATA)
    config = {
        "entityid": settings["entityId"],
        "xmlsec_binary": XMLSEC1,
        "key_file": settings["signing"]["key_file"],
        "cert_file": settings["signing"]["cert_file"],
        "service": {
            "sp": {
                # pysaml2 7.0.1 would sign with rsa-sha1, which eidhub refuses. The entity reads
                # these two in its own context only: at the top level they are silently ignored.
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
                "endpoints": {"assertion_consumer_service": [(settings["acs"], BINDING_HTTP_POST)]},
                "authn_requests_signed": True,
                "want_assertions_signed": True,
                "want_response_signed": True,
                "allow_unsolicited": False,
            }
        },
        "metadata": {"local": [idp_metadata]} if os.path.exists(idp_metadata) else {},
        # pysaml2's built-in ADFS attribute maps claim the unspecified NameFormat (the one of
        # eidhub's `idpId` and `phoneNumber`, as of the seed's Attribute without NameFormat), and
        # drop every name they do not list. Allowed through, attributes keep their names as
        # sent (no case folding, unlike an attribute map), so the test sees exactly what came.
        "allow_unknown_attributes": True,
        # The default, said aloud: a signature is checked with the IdP metadata's certificates,
        # never with a certificate the message brings along.
        "only_use_keys_in_metadata": True,
    }
    if settings.get("encryption"):
        config["encryption_keypairs"] = [settings["encryption"]]
    sp = SPConfig()
    sp.load(config)
    return sp


def cmd_init(args):
    os.makedirs(args.state, exist_ok=True)
    settings = {
        "entityId": args.entity_id,
        "acs": args.acs,
        "signing": write_key_pair(args.state, "signing", "pysaml2 sp signing"),
    }
    if args.encryption:
        settings["encryption"] = write_key_pair(args.state, "encryption", "pysaml2 sp encryption")
    with open(path_in(args.state, SETTINGS), "w") as f:
        json.dump(settings, f, indent=2)
    return {"entityId": args.entity_id, "acs": args.acs, "encryption": bool(args.encryption)}


def cmd_metadata(args):
    xml = create_metadata_string(None, config=sp_config(args.state))
    return {"metadata": xml.decode("utf-8") if isinstance(xml, bytes) else xml}


def verify_metadata_signature(xml, cert_file, state):
    """
    pysaml2's own check of signed metadata (MetaDataExtern's), made stricter: a signature is
    required, and it must be the EntityDescriptor's own, over the whole element.
    """
    descriptor = entity_descriptor_from_string(xml)
    signature = descriptor.signature
    if signature is None:
        raise PeerError("the IdP metadata is not signed")
    references = [ref.uri for ref in signature.signed_info.reference]
    if references != ["#" + str(descriptor.id)]:
        raise PeerError(f"the IdP metadata signature covers {references}, not the EntityDescriptor")
    security = security_context(sp_config(state))
    try:
        ok = security.verify_signature(xml, cert_file=cert_file, node_name=ENTITY_DESCRIPTOR)
    except Exception as err:  # pysaml2 wraps xmlsec1's refusal in SignatureError
        raise PeerError(f"the IdP metadata signature does not verify: {type(err).__name__}") from None
    if not ok:
        raise PeerError("the IdP metadata signature does not verify")


def cmd_authn_request(args):
    with open(args.idp_metadata, "rb") as f:
        xml = f.read()
    if args.metadata_cert:
        verify_metadata_signature(xml, args.metadata_cert, args.state)
    with open(path_in(args.state, IDP_METADATA), "wb") as out:
        out.write(xml)
    client = Saml2Client(config=sp_config(args.state))
    idps = list(client.metadata.identity_providers())
    if len(idps) != 1:
        raise PeerError(f"the IdP metadata names {len(idps)} identity providers, not one")
    request_id, info = client.prepare_for_authenticate(
        entityid=idps[0], relay_state=args.relay_state, binding=BINDING_HTTP_REDIRECT, sigalg=args.sigalg
    )
    location = dict(info["headers"]).get("Location")
    if not location:
        raise PeerError("pysaml2 made no redirect for the AuthnRequest")
    return {"url": location, "requestId": request_id, "metadataSignatureVerified": bool(args.metadata_cert)}


def cmd_parse_response(args):
    saml_response = sys.stdin.read().strip()
    if not saml_response:
        raise PeerError("no SAMLResponse on stdin")
    settings = load_settings(args.state)
    client = Saml2Client(config=sp_config(args.state))
    resp = client.parse_authn_request_response(
        saml_response, BINDING_HTTP_POST, outstanding={args.request_id: settings["acs"]}
    )
    if resp is None:
        raise PeerError("pysaml2 returned no response")
    sent = response_from_string(base64.b64decode(saml_response))
    # What a pysaml2 application reads after a login.
    info = resp.session_info()
    name_id = info["name_id"]
    authn = info["authn_info"]  # [(class ref, [authenticating authorities], instant)]
    return {
        "issuer": info["issuer"],
        "inResponseTo": resp.in_response_to,
        "nameId": name_id.text if name_id is not None else None,
        "nameIdFormat": name_id.format if name_id is not None else None,
        "nameQualifier": name_id.name_qualifier if name_id is not None else None,
        "attributes": info["ava"],
        "sessionIndex": info["session_index"],
        "authnContextClassRef": authn[0][0] if authn else None,
        "authenticatingAuthorities": authn[0][1] if authn else [],
        # The Response carried its assertion only encrypted, and pysaml2 read it all the same.
        "decrypted": bool(sent.encrypted_assertion) and not sent.assertion and resp.assertion is not None,
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", required=True, help="directory with the SP's keys and settings")
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init")
    init.add_argument("--entity-id", required=True)
    init.add_argument("--acs", required=True)
    init.add_argument("--encryption", action="store_true")
    commands.add_parser("metadata")
    authn = commands.add_parser("authn-request")
    authn.add_argument("--idp-metadata", required=True)
    authn.add_argument("--metadata-cert")
    authn.add_argument("--relay-state", default="")
    authn.add_argument("--sigalg", help="a signature algorithm URI other than the configured rsa-sha256")
    parse = commands.add_parser("parse-response")
    parse.add_argument("--request-id", required=True)
    return parser.parse_args(argv)


COMMANDS = {
    "init": cmd_init,
    "metadata": cmd_metadata,
    "authn-request": cmd_authn_request,
    "parse-response": cmd_parse_response,
}

# Anything like a phone number: eight or more digits, maybe spaced, maybe after a plus.
PHONE = re.compile(r"\+?\d[\d ]{6,}\d")


def mask_phone_numbers(record):
    """A logging filter: pysaml2 logs whole Responses, attribute values and all."""
    record.msg = PHONE.sub("[number]", record.getMessage())
    record.args = None
    return True


def main(argv):
    args = parse_args(argv)
    os.makedirs(args.state, exist_ok=True)
    log = logging.FileHandler(path_in(args.state, "pysaml2.log"))
    log.addFilter(mask_phone_numbers)
    logging.basicConfig(handlers=[log], level=logging.INFO)
    try:
        result = COMMANDS[args.command](args)
    except PeerError as err:
        message = str(err)
    except Exception as err:  # pysaml2's refusals have many types; their names say what failed
        message = f"pysaml2 refused: {type(err).__name__}: {err}"
    else:
        json.dump(result, sys.stdout)
        sys.stdout.write("\n")
        return 0
    one_line = " ".join(message.split())[:600]
    sys.stderr.write(f"pysaml2_sp {args.command}: {PHONE.sub('[number]', one_line)} (log: {path_in(args.state, 'pysaml2.log')})\n")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

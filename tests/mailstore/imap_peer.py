"""Drives a Dovecot IMAP server for the store's interop tests (python3 imaplib).

usage: imap_peer.py PORT USER PASS dump              -> JSON of every mailbox
       imap_peer.py PORT USER PASS run < commands.json -> runs APPEND/STORE/CREATE/SUBSCRIBE
"""
import imaplib, json, re, sys, base64

port, user, password, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
imap = imaplib.IMAP4("127.0.0.1", port)
imap.login(user, password)


def names(kind):
    typ, data = getattr(imap, kind)()
    out = []
    for line in data:
        if not line:
            continue
        if isinstance(line, tuple):  # a literal name
            out.append(line[1].decode())
            continue
        m = re.match(rb'\((.*?)\) (?:"(.)"|NIL) (.*)$', line)
        if not m:
            raise SystemExit("unexpected %s line: %r" % (kind, line))
        if b"\\Noselect" in m.group(1) or b"\\NonExistent" in m.group(1):
            continue
        name = m.group(3).decode()
        if name.startswith('"'):
            name = name[1:-1]
        out.append(name)
    return sorted(out)


def dump():
    result = {"list": names("list"), "lsub": names("lsub"), "mailboxes": {}}
    for box in result["list"]:
        typ, st = imap.status('"%s"' % box, "(UIDVALIDITY UIDNEXT)")
        if typ != "OK":
            raise SystemExit("STATUS %s: %r" % (box, st))
        uidvalidity = re.search(rb"UIDVALIDITY (\d+)", st[0])
        uidnext = re.search(rb"UIDNEXT (\d+)", st[0])
        typ, data = imap.select('"%s"' % box, readonly=True)
        if typ != "OK":
            raise SystemExit("SELECT %s: %r" % (box, data))
        msgs = []
        typ, data = imap.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[])")
        for item in data:
            if not isinstance(item, tuple):
                continue
            head = item[0].decode()
            flags = re.search(r"FLAGS \((.*?)\)", head).group(1).split()
            msgs.append({
                "uid": int(re.search(r"UID (\d+)", head).group(1)),
                "flags": sorted(f for f in flags if f != "\\Recent"),
                "size": int(re.search(r"RFC822.SIZE (\d+)", head).group(1)),
                "date": re.search(r'INTERNALDATE "(.*?)"', head).group(1),
                "body": base64.b64encode(item[1]).decode(),
            })
        msgs.sort(key=lambda x: x["uid"])
        result["mailboxes"][box] = {
            "uidvalidity": int(uidvalidity.group(1)), "uidnext": int(uidnext.group(1)), "messages": msgs,
        }
        imap.unselect()
    return result


def run(commands):
    out = []
    for c in commands:
        if c["op"] == "create":
            typ, data = imap.create('"%s"' % c["mailbox"])
        elif c["op"] == "subscribe":
            typ, data = imap.subscribe('"%s"' % c["mailbox"])
        elif c["op"] == "append":
            typ, data = imap.append('"%s"' % c["mailbox"], "(%s)" % " ".join(c["flags"]),
                                    c.get("date"), base64.b64decode(c["body"]))
            out.append(data[0].decode())
        elif c["op"] == "store":
            imap.select('"%s"' % c["mailbox"])
            typ, data = imap.uid("STORE", c["uids"], c["mode"], "(%s)" % " ".join(c["flags"]))
            imap.close()
        if typ != "OK":
            raise SystemExit("%s failed: %r" % (c["op"], data))
    return out


if mode == "dump":
    print(json.dumps(dump()))
else:
    print(json.dumps(run(json.load(sys.stdin))))
imap.logout()

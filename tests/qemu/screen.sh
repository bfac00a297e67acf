# Sourced by the QEMU scripts: what a person sees on a guest's VGA screen.
# The guest runs with -monitor unix:SOCK,server,nowait.
#   screen_monitor SOCK CMD      sends one monitor command, waits for its reply
#   screen_dump SOCK OUT         screendump to OUT (.ppm, or .png with -f png)
#   screen_ocr SOCK BASE         screendump to BASE.ppm, tesseract text to
#                                BASE.txt, squeezed to lower-case words
#   screen_shows FILE TEXT       true if the squeezed FILE holds TEXT, give
#                                or take OCR's usual mistakes
# tesseract reads VGA text and iPXE's EFI font well; the highlighted menu bar
# may come out garbled, so checks match words, not layout.

screen_monitor() {
	python3 - "$1" "$2" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
def until_prompt():
    buf = b""
    end = time.time() + 10
    while b"(qemu)" not in buf and time.time() < end:
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
    return buf
until_prompt()
s.sendall(sys.argv[2].encode() + b"\n")
until_prompt()
s.close()
PY
}

screen_dump() {
	local fmt=""
	case $2 in *.png) fmt=" -f png" ;; esac
	rm -f "$2"
	screen_monitor "$1" "screendump $2$fmt" && [ -s "$2" ]
}

# Lower case, every run of non-alphanumerics one space.
screen_squeeze() {
	tr 'A-Z' 'a-z' | tr -c 'a-z0-9' ' ' | tr -s ' '
}

screen_ocr() {
	screen_dump "$1" "$2.ppm" || return 1
	tesseract "$2.ppm" stdout 2>/dev/null | screen_squeeze >"$2.txt"
	[ -s "$2.txt" ]
}

# OCR confuses a few letters (w read as u, 0 as o) and splits words, so the
# text is compared without blanks, and a stretch of the screen that matches
# TEXT to 85% (difflib's ratio) counts.  A screen without the text scores far
# lower: the menu against a hint's words scores below 60%.
screen_shows() {
	local want
	want=$(printf '%s' "$2" | screen_squeeze)
	[ -n "${want// /}" ] || return 1
	python3 - "$1" "$want" <<'PY'
import difflib, sys
text = open(sys.argv[1]).read().replace(" ", "")
want = sys.argv[2].replace(" ", "")
best = 0.0
for i in range(max(1, len(text) - len(want) + 3)):
    for n in range(len(want) - 2, len(want) + 3):
        r = difflib.SequenceMatcher(None, text[i:i + n], want).ratio()
        best = max(best, r)
sys.exit(0 if best >= 0.85 else 1)
PY
}

#!/usr/bin/env bash
# One idempotent set-up for `make run` and `make test`: Debian packages, then the two
# virtualenvs. Fast when nothing changed: each step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

# The converter: LibreOffice 25.2 (docs/operations.md says why), with its Python bridge for
# unoserver's server side. Debian 13 has it; on Debian 12 it comes from Debian's own
# bookworm-backports suite, pinned to these packages (nothing else is upgraded from it).
LIBREOFFICE_PACKAGES=(libreoffice-writer-nogui python3-uno)
LIBREOFFICE_MAJOR=25

DEBIAN_PACKAGES=(
  python3-venv              # to build .venv-uno on Debian's python3
  fonts-noto-cjk            # CJK Song (serif) and Hei (sans) faces, SC and TC
  fonts-cwtex-fs            # a FangSong face, for 仿宋 (docrender/fonts/substitutes.py maps the names)
  fonts-arphic-ukai         # Kai faces (CN and TW forms), for 楷体
  fonts-crosextra-carlito   # metric twin of Calibri (docrender/fonts/substitutes.py's LATIN_TWINS)
  fonts-crosextra-caladea   # metric twin of Cambria
  fonts-liberation2         # metric twins of Arial, Times New Roman, Courier New
  fonts-dejavu-core         # DejaVu Sans (Mono), for Segoe UI, Verdana, Menlo...
  fontconfig                # fc-match, for the font report on template upload
  redis-server              # broker and job store when none is configured
  poppler-utils             # pdftoppm for the pages' preview; pdftotext / pdffonts for tests
  ghostscript               # a second PDF renderer for tests (tests/helpers/pdf.renderings)
  chromium                  # the browser the pages' tests drive (Playwright, tests/web/)
)

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
apt_updated=
apt_update() {
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
}

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

libreoffice_major() {
  local version
  version=$(dpkg-query -W -f='${Status} ${Version}' libreoffice-writer-nogui 2>/dev/null || true)
  case "$version" in
    "install ok installed "*) version=${version##* }; version=${version#*:}; echo "${version%%.*}" ;;
    *) echo 0 ;;
  esac
}
if [ "$(libreoffice_major)" -lt "$LIBREOFFICE_MAJOR" ] \
  || ! dpkg-query -W -f='${Status}' python3-uno 2>/dev/null | grep -q "install ok installed"; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  target=()
  if [ "$codename" = bookworm ]; then
    if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo "bootstrap: adding Debian's bookworm-backports suite (for LibreOffice $LIBREOFFICE_MAJOR)"
      printf '%s\n' "Types: deb" "URIs: http://deb.debian.org/debian" "Suites: bookworm-backports" \
        "Components: main" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" \
        | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources > /dev/null
      apt_updated=
    fi
    target=(-t bookworm-backports)
  fi
  echo "bootstrap: installing LibreOffice $LIBREOFFICE_MAJOR: ${LIBREOFFICE_PACKAGES[*]}"
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${target[@]}" "${LIBREOFFICE_PACKAGES[@]}"
  if [ "$(libreoffice_major)" -lt "$LIBREOFFICE_MAJOR" ]; then
    echo "bootstrap: LibreOffice $LIBREOFFICE_MAJOR could not be installed" >&2
    exit 1
  fi
fi

# The application's virtualenv, rebuilt when its pins change.
app_stamp=$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.stamp 2>/dev/null)" != "$app_stamp" ]; then
  echo "bootstrap: building .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -c requirements.lock -e '.[dev]'
  echo "$app_stamp" > .venv/.stamp
fi

# The translation catalogs, compiled from their .po files (cheap; the .mo files are not kept).
.venv/bin/pybabel -q compile -d docrender/translations

# unoserver's server imports `uno`, which only Debian's python3 has: its own small venv.
uno_stamp=$(sha256sum deploy/requirements-uno.txt | cut -d' ' -f1)
if [ ! -x .venv-uno/bin/unoserver ] || [ "$(cat .venv-uno/.stamp 2>/dev/null)" != "$uno_stamp" ]; then
  echo "bootstrap: building .venv-uno"
  /usr/bin/python3 -m venv --system-site-packages .venv-uno
  .venv-uno/bin/pip install -q -r deploy/requirements-uno.txt
  echo "$uno_stamp" > .venv-uno/.stamp
fi
.venv-uno/bin/python -c 'import uno' || { echo "bootstrap: python3-uno is not importable" >&2; exit 1; }

# What the browser tests inject into the pages (axe-core: tests/web/test_accessibility.py),
# from npm, as package-lock.json pins it; with Debian's Node.js where the machine has none.
if ! command -v npm > /dev/null; then
  echo "bootstrap: installing Node.js and npm"
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
npm_stamp=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/axe-core/axe.min.js ] || [ "$(cat node_modules/.stamp 2>/dev/null)" != "$npm_stamp" ]; then
  echo "bootstrap: installing the browser tests' npm packages"
  npm ci --no-audit --no-fund --silent
  echo "$npm_stamp" > node_modules/.stamp
fi

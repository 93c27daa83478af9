#!/usr/bin/env bash
# scripts/services.sh — make PostgreSQL (with PostGIS) and Redis available for voisins.
#
# Used by `make run` and `make test`. Idempotent: run it as often as you like.
#
#   VOISINS_DATABASE_URL  default postgresql://voisins@127.0.0.1:5432/voisins
#                         (postgresql+asyncpg://... is accepted too)
#   VOISINS_REDIS_URL     default redis://127.0.0.1:6379/0
#
# 1. If the servers named by the URLs answer, they are used as they are.
# 2. Otherwise, as root on Debian/Ubuntu, the missing distribution packages are
#    installed (postgresql, postgresql-<major>-postgis-3, redis-server) and the
#    stopped servers are started. The PostGIS package is also installed when
#    the server answers but the extension is not available.
# 3. The role (LOGIN CREATEDB) and database of the URL are created if missing,
#    and PostGIS is created (as superuser) in that database and in template1,
#    so the throwaway test databases created by the app role have it too.
# 4. When something cannot be done automatically, the exact commands to run
#    are printed and the script exits 1.
#
# The last line printed (stdout) on success is:
#   voisins services: PostgreSQL <host:port/db> (PostGIS <version>), Redis <host:port/db>
set -euo pipefail

DATABASE_URL="${VOISINS_DATABASE_URL:-postgresql://voisins@127.0.0.1:5432/voisins}"
REDIS_URL="${VOISINS_REDIS_URL:-redis://127.0.0.1:6379/0}"
APT_LOCK_TIMEOUT="${VOISINS_APT_LOCK_TIMEOUT:-300}"

# Only the values passed explicitly below must decide where psql connects.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGSERVICEFILE
export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-5}"

say() { printf 'services.sh: %s\n' "$*" >&2; }
die() { printf 'services.sh: error: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- URL parsing
urldecode() { # decode %XX sequences only ('+' is literal in URL authorities)
    local s="$1" out="" c
    while [[ -n "$s" ]]; do
        c="${s:0:1}"
        if [[ "$c" == "%" && "${s:1:2}" =~ ^[0-9A-Fa-f]{2}$ ]]; then
            printf -v c "\\x${s:1:2}"
            s="${s:3}"
        else
            s="${s:1}"
        fi
        out+="$c"
    done
    printf '%s' "$out"
}

# parse_authority "user:pass@host:port" -> URL_USER URL_PASS URL_HOST URL_PORT
parse_authority() {
    local auth="$1" userinfo="" hostport
    URL_USER="" URL_PASS="" URL_HOST="" URL_PORT=""
    if [[ "$auth" == *@* ]]; then
        userinfo="${auth%@*}"
        hostport="${auth##*@}"
    else
        hostport="$auth"
    fi
    if [[ -n "$userinfo" ]]; then
        URL_USER="$(urldecode "${userinfo%%:*}")"
        [[ "$userinfo" == *:* ]] && URL_PASS="$(urldecode "${userinfo#*:}")"
    fi
    if [[ "$hostport" == \[* ]]; then # [IPv6]:port
        URL_HOST="${hostport#\[}"
        URL_HOST="${URL_HOST%%\]*}"
        hostport="${hostport#*\]}"
        [[ "$hostport" == :* ]] && URL_PORT="${hostport#:}"
    else
        URL_HOST="${hostport%%:*}"
        [[ "$hostport" == *:* ]] && URL_PORT="${hostport#*:}"
    fi
    URL_HOST="$(urldecode "$URL_HOST")"
    return 0
}

# PostgreSQL: postgresql[+driver]://user[:pass]@host[:port]/db[?params]
pg_scheme="${DATABASE_URL%%://*}"
[[ "$DATABASE_URL" == *://* ]] || die "VOISINS_DATABASE_URL is not a URL: $DATABASE_URL"
pg_scheme="${pg_scheme%%+*}" # postgresql+asyncpg -> postgresql
case "$pg_scheme" in
    postgresql | postgres) ;;
    *) die "VOISINS_DATABASE_URL must be postgresql://... (got scheme '${DATABASE_URL%%://*}')" ;;
esac
rest="${DATABASE_URL#*://}"
rest="${rest%%\?*}"
rest="${rest%%#*}"
PG_DB=""
if [[ "$rest" == */* ]]; then
    PG_DB="$(urldecode "${rest#*/}")"
    rest="${rest%%/*}"
fi
parse_authority "$rest"
PG_USER="${URL_USER:-voisins}"
PG_PASS="$URL_PASS"
PG_HOST="${URL_HOST:-127.0.0.1}"
PG_PORT="${URL_PORT:-5432}"
PG_DB="${PG_DB:-$PG_USER}"
[[ "$PG_PORT" =~ ^[0-9]+$ ]] || die "bad port in VOISINS_DATABASE_URL: $PG_PORT"

# Redis: redis[s]://[[user]:pass@]host[:port][/db]
r_scheme="${REDIS_URL%%://*}"
[[ "$REDIS_URL" == *://* ]] || die "VOISINS_REDIS_URL is not a URL: $REDIS_URL"
case "$r_scheme" in
    redis | rediss) ;;
    *) die "VOISINS_REDIS_URL must be redis://... (got scheme '$r_scheme')" ;;
esac
rest="${REDIS_URL#*://}"
rest="${rest%%\?*}"
rest="${rest%%#*}"
REDIS_DB="0"
if [[ "$rest" == */* ]]; then
    REDIS_DB="${rest#*/}"
    REDIS_DB="${REDIS_DB:-0}"
    rest="${rest%%/*}"
fi
parse_authority "$rest"
REDIS_USER="$URL_USER"
REDIS_PASS="$URL_PASS"
REDIS_HOST="${URL_HOST:-127.0.0.1}"
REDIS_PORT="${URL_PORT:-6379}"
[[ "$REDIS_PORT" =~ ^[0-9]+$ ]] || die "bad port in VOISINS_REDIS_URL: $REDIS_PORT"

hostport() { if [[ "$1" == *:* ]]; then printf '[%s]:%s' "$1" "$2"; else printf '%s:%s' "$1" "$2"; fi; }
PG_LABEL="$(hostport "$PG_HOST" "$PG_PORT")/$PG_DB"
REDIS_LABEL="$(hostport "$REDIS_HOST" "$REDIS_PORT")/$REDIS_DB"

is_local() {
    case "$1" in
        localhost | 127.* | ::1 | /*) return 0 ;;
        *) return 1 ;;
    esac
}

# ---------------------------------------------------------------- environment
IS_ROOT=0
[[ "$(id -u)" == 0 ]] && IS_ROOT=1
CAN_APT=0
[[ $IS_ROOT == 1 && -f /etc/debian_version ]] && have apt-get && CAN_APT=1

APT_LOG=""
APT_UPDATED=0
apt_run() { # apt-get with a wait on the dpkg/apt locks; output goes to a log
    local tries=0
    [[ -n "$APT_LOG" ]] || APT_LOG="$(mktemp "${TMPDIR:-/tmp}/voisins-apt.XXXXXX.log")"
    while :; do
        if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT" "$@" >>"$APT_LOG" 2>&1; then
            return 0
        fi
        # `apt-get update` does not honour DPkg::Lock::Timeout on every release:
        # retry while another apt/dpkg holds a lock, then give up.
        if tail -n 5 "$APT_LOG" | grep -qiE 'could not get lock|unable to (acquire|lock)' &&
            ((tries < APT_LOCK_TIMEOUT / 5)); then
            tries=$((tries + 1))
            sleep 5
            continue
        fi
        tail -n 20 "$APT_LOG" >&2
        die "apt-get $* failed (full log: $APT_LOG)"
    done
}
apt_install() { # apt_install PKG...
    if [[ $APT_UPDATED == 0 ]]; then
        say "apt-get update"
        apt_run update
        APT_UPDATED=1
    fi
    say "apt-get install $*"
    apt_run install -y --no-install-recommends "$@"
}

pg_guess_major() { # the PostgreSQL major version installed here, or the distribution's
    local v=""
    if have pg_lsclusters; then
        v="$(pg_lsclusters -h 2>/dev/null | awk -v p="$PG_PORT" '$3 == p {print $1; exit}')"
        [[ -n "$v" ]] || v="$(pg_lsclusters -h 2>/dev/null | awk 'NR == 1 {print $1}')"
    fi
    if [[ -z "$v" ]]; then
        v="$(ls -1 /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1 || true)"
    fi
    if [[ -z "$v" && -d /etc/postgresql ]]; then
        v="$(ls -1 /etc/postgresql 2>/dev/null | sort -n | tail -n 1 || true)"
    fi
    if [[ -z "$v" ]] && have psql; then
        v="$(psql -V | sed -nE 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/p')"
    fi
    if [[ -z "$v" ]] && have apt-cache; then
        v="$(apt-cache depends postgresql 2>/dev/null | sed -nE 's/.*Depends: postgresql-([0-9]+)$/\1/p' | head -n 1)"
    fi
    printf '%s' "${v:-15}"
}

instructions() { # instructions REASON — what the user must do; exits 1
    local major
    major="$(pg_guess_major)"
    {
        echo
        echo "voisins services: $1"
        echo
        echo "Either install and start them on Debian/Ubuntu (as root):"
        echo
        echo "    sudo apt-get update"
        echo "    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql postgresql-${major}-postgis-3 redis-server"
        echo "    sudo bash scripts/services.sh      # starts them, creates role '$PG_USER', database '$PG_DB' and PostGIS"
        echo
        echo "or run them with Docker (from the repository root):"
        echo
        echo "    docker compose up -d db redis"
        echo "    export VOISINS_DATABASE_URL=postgresql://voisins:voisins@127.0.0.1:5432/voisins"
        echo "    export VOISINS_REDIS_URL=redis://127.0.0.1:6379/0"
        echo
        echo "then run the make target again."
    } >&2
    exit 1
}

tcp_answers() { # tcp_answers HOST PORT
    if have timeout; then
        timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
    else
        bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
    fi
}

# ---------------------------------------------------------------- PostgreSQL
pg_state() { # 0 accepting, 1 up but rejecting (starting), 2 no answer
    if have pg_isready; then
        local rc=0
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 3 || rc=$?
        case $rc in 0) return 0 ;; 1) return 1 ;; *) return 2 ;; esac
    fi
    [[ "$PG_HOST" == /* ]] && return 2
    tcp_answers "$PG_HOST" "$PG_PORT" && return 0
    return 2
}
pg_wait() { # pg_wait SECONDS
    local i
    for ((i = 0; i < $1; i++)); do
        pg_state && return 0
        sleep 1
    done
    return 1
}

pg_ok=0 pg_rc=0
pg_state || pg_rc=$?
if [[ $pg_rc == 0 ]]; then
    pg_ok=1
elif [[ $pg_rc == 1 ]] && pg_wait 30; then # up but still starting
    pg_ok=1
fi

PG_CLUSTER_VER="" PG_CLUSTER_NAME=""
find_local_cluster() { # the Debian cluster (if any) listening on PG_PORT
    PG_CLUSTER_VER="" PG_CLUSTER_NAME=""
    have pg_lsclusters || return 1
    local line
    line="$(pg_lsclusters -h 2>/dev/null | awk -v p="$PG_PORT" '$3 == p {print $1, $2; exit}')"
    [[ -n "$line" ]] || return 1
    PG_CLUSTER_VER="${line%% *}"
    PG_CLUSTER_NAME="${line#* }"
}

# Packages to install in one go (phase 1): server, client, Redis.
pkgs=()
if [[ $pg_ok == 0 ]]; then
    is_local "$PG_HOST" || die "PostgreSQL at $(hostport "$PG_HOST" "$PG_PORT") does not answer (remote host: start it, or fix VOISINS_DATABASE_URL)"
    [[ $CAN_APT == 1 ]] || instructions "PostgreSQL does not answer at $(hostport "$PG_HOST" "$PG_PORT") and this script can only install/start it as root on Debian/Ubuntu."
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || pkgs+=(postgresql)
elif ! have psql; then
    if [[ $CAN_APT == 1 ]]; then
        pkgs+=(postgresql-client)
    else
        instructions "PostgreSQL answers at $(hostport "$PG_HOST" "$PG_PORT") but psql (postgresql-client) is not installed."
    fi
fi

redis_answers() {
    local out
    if have redis-cli; then
        local args=(-h "$REDIS_HOST" -p "$REDIS_PORT")
        [[ "$r_scheme" == rediss ]] && args+=(--tls)
        [[ -n "$REDIS_USER" ]] && args+=(--user "$REDIS_USER")
        out="$(REDISCLI_AUTH="$REDIS_PASS" timeout 5 redis-cli "${args[@]}" ping 2>&1 || true)"
        [[ "$out" == *PONG* || "$out" == *NOAUTH* || "$out" == *WRONGPASS* || "$out" == *"invalid password"* ]]
        return
    fi
    tcp_answers "$REDIS_HOST" "$REDIS_PORT"
}
redis_ok=0
redis_answers && redis_ok=1
if [[ $redis_ok == 0 ]]; then
    is_local "$REDIS_HOST" || die "Redis at $(hostport "$REDIS_HOST" "$REDIS_PORT") does not answer (remote host: start it, or fix VOISINS_REDIS_URL)"
    if ! have redis-server; then
        [[ $CAN_APT == 1 ]] || instructions "Redis does not answer at $(hostport "$REDIS_HOST" "$REDIS_PORT") and redis-server is not installed (installing needs root on Debian/Ubuntu)."
        pkgs+=(redis-server)
    fi
fi

if ((${#pkgs[@]})); then
    apt_install "${pkgs[@]}"
fi

# Start PostgreSQL if it does not answer (root + Debian only, checked above).
if [[ $pg_ok == 0 ]]; then
    pg_state && pg_ok=1 # the package's postinst may have started it
fi
if [[ $pg_ok == 0 ]]; then
    have pg_ctlcluster || die "pg_ctlcluster not found although postgresql is installed"
    if ! find_local_cluster; then
        ver="$(pg_guess_major)"
        name=main
        [[ -e "/etc/postgresql/$ver/main" ]] && name=voisins # main exists on another port
        say "creating PostgreSQL $ver cluster '$name' on port $PG_PORT"
        pg_createcluster --port "$PG_PORT" "$ver" "$name" >/dev/null
        find_local_cluster || die "pg_createcluster did not create a cluster on port $PG_PORT"
    fi
    say "starting PostgreSQL $PG_CLUSTER_VER/$PG_CLUSTER_NAME"
    pg_ctlcluster --skip-systemctl-redirect "$PG_CLUSTER_VER" "$PG_CLUSTER_NAME" start ||
        die "could not start PostgreSQL cluster $PG_CLUSTER_VER/$PG_CLUSTER_NAME (see /var/log/postgresql/)"
    pg_wait 30 || die "PostgreSQL does not answer at $(hostport "$PG_HOST" "$PG_PORT") after start"
    pg_ok=1
fi

# ---------------------------------------------------------------- psql helpers
PSQL_OPTS=(-X -w -q -A -t -v ON_ERROR_STOP=1)
ADMIN_MODE=""
admin_psql() { # admin_psql DB  (SQL on stdin; psql vars role/pw/db are set)
    local db="$1"
    local vars=(-v "role=$PG_USER" -v "pw=$PG_PASS" -v "db=$PG_DB")
    case "$ADMIN_MODE" in
        peer) # local socket as the postgres OS user (root only)
            if have runuser; then
                (cd / && runuser -u postgres -- psql "${PSQL_OPTS[@]}" -p "$PG_PORT" -d "$db" "${vars[@]}")
            else
                (cd / && su postgres -s /bin/bash -c 'exec psql "$@"' psql "${PSQL_OPTS[@]}" -p "$PG_PORT" -d "$db" "${vars[@]}")
            fi
            ;;
        tcp) # the postgres role over TCP (trust / .pgpass)
            psql "${PSQL_OPTS[@]}" -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "$db" "${vars[@]}"
            ;;
        app) # the URL's own role, when it is a superuser (e.g. docker compose)
            PGPASSWORD="$PG_PASS" psql "${PSQL_OPTS[@]}" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$db" "${vars[@]}"
            ;;
        *) return 1 ;;
    esac
}
app_psql() { # app_psql DB  (SQL on stdin) as the URL's role
    PGPASSWORD="$PG_PASS" psql "${PSQL_OPTS[@]}" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$1"
}

for mode in peer tcp app; do
    if [[ $mode == peer ]]; then
        [[ $IS_ROOT == 1 ]] && is_local "$PG_HOST" && id postgres >/dev/null 2>&1 || continue
    fi
    ADMIN_MODE=$mode
    if [[ "$(admin_psql template1 <<<'SELECT rolsuper FROM pg_roles WHERE rolname = current_user' 2>/dev/null)" == t ]]; then
        # peer mode uses the unix socket: make sure it is the same server.
        if [[ $mode == peer ]]; then
            [[ "$(admin_psql template1 <<<'SHOW port' 2>/dev/null)" == "$PG_PORT" ]] || { ADMIN_MODE=""; continue; }
        fi
        break
    fi
    ADMIN_MODE=""
done

if [[ -z "$ADMIN_MODE" ]]; then
    {
        echo
        echo "voisins services: PostgreSQL answers at $(hostport "$PG_HOST" "$PG_PORT") but this script cannot connect as a superuser"
        echo "(tried: the postgres OS user over the local socket [root only], 'psql -h $PG_HOST -p $PG_PORT -U postgres', and '$PG_USER')."
        echo "Run, as a PostgreSQL superuser (e.g. sudo -u postgres psql):"
        echo
        echo "    CREATE ROLE \"$PG_USER\" LOGIN CREATEDB${PG_PASS:+ PASSWORD '...'};"
        echo "    CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\";"
        echo "    \\c template1"
        echo "    CREATE EXTENSION IF NOT EXISTS postgis;"
        echo "    \\c \"$PG_DB\""
        echo "    CREATE EXTENSION IF NOT EXISTS postgis;"
        echo
        echo "(PostGIS needs the package postgresql-<major>-postgis-3 on the server.)"
        echo "Or use Docker instead:"
        echo
        echo "    docker compose up -d db redis"
        echo "    export VOISINS_DATABASE_URL=postgresql://voisins:voisins@127.0.0.1:5432/voisins"
        echo "    export VOISINS_REDIS_URL=redis://127.0.0.1:6379/0"
    } >&2
    exit 1
fi

# ---------------------------------------------------------------- PostGIS package
PG_MAJOR="$(admin_psql template1 <<<'SHOW server_version_num')"
PG_MAJOR=$((PG_MAJOR / 10000))
postgis_available() {
    [[ -n "$(admin_psql template1 <<<"SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")" ]]
}
if ! postgis_available; then
    pkg="postgresql-${PG_MAJOR}-postgis-3"
    if [[ $CAN_APT == 1 ]] && is_local "$PG_HOST"; then
        apt_install "$pkg"
        postgis_available ||
            die "PostGIS is still not available in the server at $(hostport "$PG_HOST" "$PG_PORT") after installing $pkg (is it a PostgreSQL $PG_MAJOR from another installation, e.g. a container? Use the image postgis/postgis:${PG_MAJOR}-3.4)"
    else
        instructions "the PostGIS extension is not available in PostgreSQL $PG_MAJOR at $(hostport "$PG_HOST" "$PG_PORT"); install the package $pkg (as root: sudo DEBIAN_FRONTEND=noninteractive apt-get install -y $pkg)."
    fi
fi

# ---------------------------------------------------------------- role, database, extension
role_ok="$(admin_psql template1 <<<"SELECT rolcanlogin AND (rolcreatedb OR rolsuper) FROM pg_roles WHERE rolname = :'role'")"
if [[ -z "$role_ok" ]]; then
    say "creating role $PG_USER"
    if [[ -n "$PG_PASS" ]]; then
        admin_psql template1 <<<"SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'role', :'pw') \\gexec" >/dev/null
    else
        admin_psql template1 <<<"SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'role') \\gexec" >/dev/null
    fi
elif [[ "$role_ok" != t ]]; then
    say "granting LOGIN CREATEDB to role $PG_USER"
    admin_psql template1 <<<"SELECT format('ALTER ROLE %I LOGIN CREATEDB', :'role') \\gexec" >/dev/null
fi

# template1 first, so every database created from now on (tests' throwaway
# databases included) has PostGIS without needing a superuser.
if [[ -z "$(admin_psql template1 <<<"SELECT 1 FROM pg_extension WHERE extname = 'postgis'")" ]]; then
    say "creating extension postgis in template1"
    admin_psql template1 <<<'CREATE EXTENSION IF NOT EXISTS postgis' >/dev/null
fi

db_owner="$(admin_psql template1 <<<"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :'db'")"
if [[ -z "$db_owner" ]]; then
    say "creating database $PG_DB owned by $PG_USER"
    admin_psql template1 <<<"SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') \\gexec" >/dev/null
elif [[ "$db_owner" != "$PG_USER" ]]; then
    say "note: database $PG_DB exists and is owned by $db_owner, not $PG_USER"
fi

if [[ -z "$(admin_psql "$PG_DB" <<<"SELECT 1 FROM pg_extension WHERE extname = 'postgis'")" ]]; then
    say "creating extension postgis in $PG_DB"
    admin_psql "$PG_DB" <<<'CREATE EXTENSION IF NOT EXISTS postgis' >/dev/null
fi

# ---------------------------------------------------------------- check as the app role
app_check() { app_psql "$PG_DB" <<<"SELECT extversion FROM pg_extension WHERE extname = 'postgis'" 2>&1; }
if ! POSTGIS_VERSION="$(app_check)"; then
    if [[ "$POSTGIS_VERSION" == *"password authentication failed"* && -n "$PG_PASS" ]]; then
        say "setting the password of role $PG_USER from VOISINS_DATABASE_URL"
        admin_psql template1 <<<"SELECT format('ALTER ROLE %I PASSWORD %L', :'role', :'pw') \\gexec" >/dev/null
    elif [[ "$POSTGIS_VERSION" == *"password"* && -z "$PG_PASS" && $IS_ROOT == 1 ]] && is_local "$PG_HOST" &&
        hba="$(admin_psql template1 <<<'SHOW hba_file')" && [[ -w "$hba" ]]; then
        # Fresh Debian clusters ask for a password over TCP; the URL has none:
        # let this role in from the loopback addresses only.
        say "allowing role $PG_USER without password from 127.0.0.1/::1 in $hba"
        tmp="$(mktemp)"
        {
            echo "# added by voisins scripts/services.sh: role $PG_USER, loopback only, no password"
            printf 'host\tall\t%s\t127.0.0.1/32\ttrust\n' "$PG_USER"
            printf 'host\tall\t%s\t::1/128\ttrust\n' "$PG_USER"
            cat "$hba"
        } >"$tmp"
        cat "$tmp" >"$hba"
        rm -f "$tmp"
        admin_psql template1 <<<'SELECT pg_reload_conf()' >/dev/null
        sleep 1
    fi
    POSTGIS_VERSION="$(app_check)" ||
        die "cannot connect as $PG_USER to $PG_LABEL: $POSTGIS_VERSION"
fi
[[ -n "$POSTGIS_VERSION" ]] || die "PostGIS is not installed in database $PG_DB"

# ---------------------------------------------------------------- Redis
if [[ $redis_ok == 0 ]] && redis_answers; then
    redis_ok=1 # the package's postinst may have started it
fi
if [[ $redis_ok == 0 ]]; then
    if [[ $IS_ROOT == 1 ]]; then
        redis_dir=/var/lib/redis redis_log=/var/log/redis/voisins.log
    else
        redis_dir="${XDG_RUNTIME_DIR:-${TMPDIR:-/tmp}}/voisins-redis" redis_log="$redis_dir/voisins.log"
    fi
    mkdir -p "$redis_dir" "$(dirname "$redis_log")"
    redis_args=(--daemonize yes --port "$REDIS_PORT" --save "" --appendonly no --dir "$redis_dir" --logfile "$redis_log")
    [[ -n "$REDIS_PASS" && ( -z "$REDIS_USER" || "$REDIS_USER" == default ) ]] && redis_args+=(--requirepass "$REDIS_PASS")
    say "starting redis-server on port $REDIS_PORT"
    # '-::1' (optional IPv6 bind) needs Redis >= 7; fall back to IPv4 only.
    redis-server --bind 127.0.0.1 -::1 "${redis_args[@]}" >/dev/null 2>&1 ||
        redis-server --bind 127.0.0.1 "${redis_args[@]}" >/dev/null ||
        die "could not start redis-server (see $redis_log)"
    for ((i = 0; i < 20; i++)); do
        redis_answers && redis_ok=1 && break
        sleep 0.5
    done
    [[ $redis_ok == 1 ]] || die "Redis does not answer at $(hostport "$REDIS_HOST" "$REDIS_PORT") after start (see $redis_log)"
fi

echo "voisins services: PostgreSQL $PG_LABEL (PostGIS $POSTGIS_VERSION), Redis $REDIS_LABEL"

#!/usr/bin/env bash
# Starts a one-node OpenStack Swift with the s3api middleware (real SigV4 through tempauth: access key
# test:tester, secret testing) plus memcached, all on 127.0.0.1. Usage: start-swift.sh DIR [PORT]
# Writes one PID file per daemon into DIR/run. Relies on the stock /etc/swift/swift.conf. Run as root.
set -euo pipefail
S=${1:?dir}; PORT=${2:-58080}
mkdir -p "$S/etc" "$S/node/sdb1" "$S/run" "$S/log"
# Rings built in one /usr/bin/python3 process (Debian's Swift modules; nine swift-ring-builder calls take 12 s).
/usr/bin/python3 - "$S/etc" <<'PY'
import sys
from swift.common.ring import RingBuilder
for name, port in (('account', 6212), ('container', 6211), ('object', 6210)):
    b = RingBuilder(8, 1, 1)
    b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': port, 'device': 'sdb1', 'weight': 1, 'meta': ''})
    b.rebalance(); b.get_ring().save(f'{sys.argv[1]}/{name}.ring.gz')
PY
for t in account:6212 container:6211 object:6210; do n=${t%%:*}; p=${t##*:}
  printf '[DEFAULT]\ndevices = %s/node\nmount_check = false\nbind_ip = 127.0.0.1\nbind_port = %s\nworkers = 0\nuser = root\nswift_dir = %s/etc\ndisable_fallocate = true\n[pipeline:main]\npipeline = %s-server\n[app:%s-server]\nuse = egg:swift#%s\n' "$S" "$p" "$S" "$n" "$n" "$n" > "$S/etc/$n-server.conf"
done
cat > "$S/etc/proxy-server.conf" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PORT
workers = 0
user = root
swift_dir = $S/etc
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:11211
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF
memcached -u memcache -l 127.0.0.1 -p 11211 -m 64 </dev/null >"$S/log/memcached.log" 2>&1 & echo $! > "$S/run/memcached.pid"
for n in account container object; do swift-$n-server "$S/etc/$n-server.conf" </dev/null >"$S/log/$n.log" 2>&1 & echo $! > "$S/run/$n.pid"; done
swift-proxy-server "$S/etc/proxy-server.conf" </dev/null >"$S/log/proxy.log" 2>&1 & echo $! > "$S/run/proxy.pid"
# Up to 2 minutes: a busy 2-core machine needs 30 s and more to import Swift in four daemons. The proxy's
# healthcheck does not cover the account/container/object servers, so wait for their ports too.
up() { curl -sf "http://127.0.0.1:$PORT/healthcheck" >/dev/null && for p in 6210 6211 6212; do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || return 1; done; }
for i in $(seq 1 480); do up && exit 0; sleep 0.25; done
echo "swift did not become healthy" >&2; tail -n 20 "$S"/log/*.log >&2; exit 1

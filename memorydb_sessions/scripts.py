"""The Lua scripts: every operation that touches more than one key of a user.

All keys of one script share a hash tag (``tokens.py``), so each runs on one shard,
atomically: no other command of any client runs between its steps.  That is what makes
revocation impossible to escape: "create", "rotate", "end" and "revoke everything" of a
user are each one indivisible step on the same shard.

Scripts reach keys of their own slot that they compute (``prefix .. handle``); Redis
and MemoryDB allow same-slot keys in scripts without flags (only cross-slot access is
refused).  Every script is safe to run twice (a retry after a lost reply): see each.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Script:
    name: str
    source: bytes

    @property
    def sha(self) -> str:
        return hashlib.sha1(self.source).hexdigest()


# KEYS: session, [index, revoked]. ARGV: record, ttl_ms, handle, created_ms, cap, action,
# authenticated_at_ms, index_ttl_ms, slot_prefix.
# Returns {1, evicted handles...} | {0} (the key exists with another value) | {-2} revoked
# after the sign-in was proven | {-3} at the cap and the policy refuses.
# Retry-safe: a second run finds its own record and answers {1}.
CREATE = Script("create", b"""
local cur = redis.call('GET', KEYS[1])
if cur then
  if cur == ARGV[1] then return {1} end
  return {0}
end
if #KEYS == 1 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1}
end
local revoked = redis.call('GET', KEYS[3])
if revoked and tonumber(revoked) >= tonumber(ARGV[7]) then return {-2} end
local live = 0
for _, h in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if redis.call('EXISTS', ARGV[9] .. h) == 1 then live = live + 1 else redis.call('ZREM', KEYS[2], h) end
end
local out = {1}
while live >= tonumber(ARGV[5]) do
  if ARGV[6] == 'refuse' then return {-3} end
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  redis.call('DEL', ARGV[9] .. oldest)
  redis.call('ZREM', KEYS[2], oldest)
  live = live - 1
  out[#out + 1] = oldest
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
return out
""")

# KEYS: session. ARGV: expected record, new record, ttl_ms.
# Returns 1 written | 0 gone | -1 changed since it was read.
# Retry-safe: a second run finds the new record's write id and answers 1.
COMPARE_AND_SET = Script("compare-and-set", b"""
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if string.sub(cur, 1, 16) == string.sub(ARGV[2], 1, 16) then return 1 end
if cur ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
""")

# KEYS: old session, new session (same slot). ARGV: new write id, old handle, new handle,
# index prefix. Returns the new record, or nil when the old session is gone.
# The old key dies and the new one is indexed in the same step: a stolen token that keeps
# rotating stays in its user's index. Retry-safe: a second run finds the new key.
ROTATE = Script("rotate", b"""
local done = redis.call('GET', KEYS[2])
if done then return done end
local cur = redis.call('GET', KEYS[1])
if not cur then return false end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 1 then ttl = 1 end
local new = ARGV[1] .. string.sub(cur, 17)
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], new, 'PX', ttl)
local ok, rec = pcall(cjson.decode, string.sub(cur, 17))
if ok and type(rec['u']) == 'string' then
  local index = ARGV[4] .. rec['u']
  redis.call('ZREM', index, ARGV[2])
  redis.call('ZADD', index, rec['c'], ARGV[3])
end
return new
""")

# KEYS: session. ARGV: handle, index prefix. Returns 1 deleted | 0 gone (retry-safe).
DELETE = Script("delete", b"""
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
redis.call('DEL', KEYS[1])
local ok, rec = pcall(cjson.decode, string.sub(cur, 17))
if ok and type(rec['u']) == 'string' then redis.call('ZREM', ARGV[2] .. rec['u'], ARGV[1]) end
return 1
""")

# KEYS: index. ARGV: slot prefix. Returns {handle, record, pttl, ...} of the live sessions,
# oldest first; prunes handles whose session is gone (keeps the index bounded).
LIST = Script("list", b"""
local out = {}
for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local v = redis.call('GET', ARGV[1] .. h)
  if v then
    out[#out + 1] = h
    out[#out + 1] = v
    out[#out + 1] = redis.call('PTTL', ARGV[1] .. h)
  else
    redis.call('ZREM', KEYS[1], h)
  end
end
return out
""")

# KEYS: index. ARGV: slot prefix, handle. Ends one session of this user only: a handle
# that is not in the user's own index ends nothing. Returns 1 | 0 (retry-safe).
END_ONE = Script("end-one", b"""
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[2])
return redis.call('DEL', ARGV[1] .. ARGV[2])
""")

# KEYS: index. ARGV: slot prefix, handle to keep. Returns how many sessions ended.
END_OTHERS = Script("end-others", b"""
local n = 0
for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if h ~= ARGV[2] then
    n = n + redis.call('DEL', ARGV[1] .. h)
    redis.call('ZREM', KEYS[1], h)
  end
end
return n
""")

# KEYS: index, revoked. ARGV: slot prefix, now_ms, revoked_ttl_ms. Ends every session of
# the user and records when, so a sign-in proven before this moment cannot create one
# afterwards. Returns how many sessions ended (a retry ends none and answers 0).
REVOKE_ALL = Script("revoke-all", b"""
local prev = redis.call('GET', KEYS[2])
if not prev or tonumber(prev) < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
end
local n = 0
for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  n = n + redis.call('DEL', ARGV[1] .. h)
end
redis.call('DEL', KEYS[1])
return n
""")

# KEYS: window (sorted set). ARGV: now_ms, window_ms, limit, member ('' only counts).
# Returns {1 allowed | 0 refused, count in the window}. Unique members make it retry-safe:
# a retried hit finds its member and is not counted twice.
RATE = Script("rate", b"""
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if ARGV[4] ~= '' and redis.call('ZSCORE', KEYS[1], ARGV[4]) then return {1, redis.call('ZCARD', KEYS[1])} end
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[3]) then return {0, n} end
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  n = n + 1
end
return {1, n}
""")

#!/usr/bin/env bash
# make fuzz: libFuzzer + AddressSanitizer on the SIP parser, seeded with the RFC 4475 messages.
# FUZZ_SECONDS (default 600) bounds the run; a crash leaves its input in .gatehouse/fuzz/crashes.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

F="$STATE/fuzz"
SECONDS_TO_RUN="${FUZZ_SECONDS:-600}"
mkdir -p "$F/corpus" "$F/crashes"
cp -n "$ROOT"/Tests/GatehouseSIPTests/Fixtures/rfc4475/*.dat "$F/corpus/" 2>/dev/null || true

log "building the SIP parser fuzz target (swiftc -sanitize=fuzzer,address)"
swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name GatehouseSIPFuzz -swift-version 6 \
  "$ROOT"/Services/Signaling/SIP/*.swift "$ROOT/Tests/Fuzz/SIPParserFuzz.swift" -o "$F/sip-fuzz"

log "fuzzing for ${SECONDS_TO_RUN}s on $(nproc) cores"
# libFuzzer's workers write fuzz-<n>.log into the current directory: keep them with the rest.
cd "$F"
"$F/sip-fuzz" "$F/corpus" -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$F/crashes/" -jobs="$(nproc)" -workers="$(nproc)" -print_final_stats=1 2>&1 | tee "$F/fuzz.log" | grep -E "^#|ERROR|crash|Done" | tail -20
if ls "$F"/crashes/crash-* >/dev/null 2>&1 || grep -q "ERROR: AddressSanitizer\|ERROR: libFuzzer" "$F"/fuzz-*.log "$F/fuzz.log" 2>/dev/null; then
  die "the fuzzer found a crash: see $F/crashes and $F/fuzz*.log"
fi
log "no crash in ${SECONDS_TO_RUN}s; corpus: $(ls "$F/corpus" | wc -l) inputs"

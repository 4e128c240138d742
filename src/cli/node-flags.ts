/**
 * V8 flags `tandem serve` runs with: bin/tandem.js's shebang (`npx tandem serve`), `npm start`,
 * and the benches' servers (bench/ingest-server.ts) pass these. Set on node's command line — V8
 * sizes its heap when it starts; `v8.setFlagsFromString` later has no effect on it.
 *
 * A young generation of up to 64 MB per semi-space (V8's default is 16 on 64-bit): at 5,000
 * entitlement checks a second with ingestion in the background, the server scavenged ~5 times a
 * second, so answers cached for their 1 s TTL survived two scavenges, were promoted, and died in
 * the old generation — a major GC every ~3–4 s, pausing 3–11 ms, each seen by the checks queued
 * behind it. With 64 MB: ~1.5 scavenges a second, no major GC in the timed run, and `bench
 * entitlements` p99 5.44, 4.15, 4.97, 5.33 and 4.33 ms against 6.24, 6.24, 5.35, 6.91 and 7.18
 * (alternating, same hour). The cost is memory: up to ~100 MB more resident.
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=64'] as const;

;; prompt-guard: a proxy-wasm plugin (ABI v0.2.1) in plain WebAssembly text.
;; Its configuration is one word; a request whose body contains it is refused with a 400 (the
;; gateway answers in the caller's protocol, since the plugin gives no body), and every answer
;; carries `x-guarded-by: prompt-guard`. Build: `node scripts/build-wasm-examples.js`
;; (wabt, from npm) writes guard.wasm beside this file.
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $get_buffer_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $send_local_response (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add_header (param i32 i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 2)
  (data (i32.const 1024) "x-guarded-by")     ;; 12 bytes
  (data (i32.const 1040) "prompt-guard")     ;; 12 bytes
  (data (i32.const 1056) "blocked word")     ;; 12 bytes
  (data (i32.const 1072) "guard configured") ;; 16 bytes

  ;; A bump allocator: the host asks for memory to hand data over. Each callback starts from
  ;; $base again (nothing is kept between callbacks but the configured word, below $base).
  (global $base (mut i32) (i32.const 65536))
  (global $heap (mut i32) (i32.const 65536))
  (global $word (mut i32) (i32.const 0))
  (global $word_len (mut i32) (i32.const 0))

  (func (export "proxy_abi_version_0_2_1"))

  (func (export "proxy_on_memory_allocate") (param $n i32) (result i32)
    (local $p i32) (local $need i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (i32.and (i32.add (local.get $n) (i32.const 7)) (i32.const -8))))
    (local.set $need (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (local.get $need) (i32.const 16)) (i32.const 1))) (i32.const -1))
        (then (unreachable)))))
    (local.get $p))

  ;; The configuration (PLUGIN_CONFIGURATION, buffer 7) is the word to refuse; empty is an error.
  (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
    (if (i32.eqz (local.get $size)) (then (return (i32.const 0))))
    (if (call $get_buffer_bytes (i32.const 7) (i32.const 0) (local.get $size) (i32.const 0) (i32.const 4))
      (then (return (i32.const 0))))
    (global.set $word (i32.load (i32.const 0)))
    (global.set $word_len (i32.load (i32.const 4)))
    (global.set $base (global.get $heap))
    (drop (call $log (i32.const 2) (i32.const 1072) (i32.const 16)))
    (i32.const 1))

  ;; Does [p, p+len) contain the configured word?
  (func $contains (param $p i32) (param $len i32) (result i32)
    (local $i i32) (local $j i32)
    (block $no (loop $scan
      (br_if $no (i32.gt_u (i32.add (local.get $i) (global.get $word_len)) (local.get $len)))
      (local.set $j (i32.const 0))
      (block $miss (loop $cmp
        (br_if $miss (i32.ne
          (i32.load8_u (i32.add (i32.add (local.get $p) (local.get $i)) (local.get $j)))
          (i32.load8_u (i32.add (global.get $word) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $cmp (i32.lt_u (local.get $j) (global.get $word_len)))
        (return (i32.const 1))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $scan)))
    (i32.const 0))

  ;; The whole request body (buffer 0); the gateway has read it before filters run.
  (func (export "proxy_on_request_body") (param $ctx i32) (param $size i32) (param $end_of_stream i32) (result i32)
    (global.set $heap (global.get $base))
    (if (call $get_buffer_bytes (i32.const 0) (i32.const 0) (local.get $size) (i32.const 0) (i32.const 4))
      (then (return (i32.const 0))))
    (if (call $contains (i32.load (i32.const 0)) (i32.load (i32.const 4)))
      (then
        ;; status 400, details "blocked word", no body, no headers, no gRPC status
        (drop (call $send_local_response (i32.const 400) (i32.const 1056) (i32.const 12) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const -1)))
        (return (i32.const 1))))
    (i32.const 0))

  ;; Response headers (map 2): say who looked at the request.
  (func (export "proxy_on_response_headers") (param $ctx i32) (param $headers i32) (param $end_of_stream i32) (result i32)
    (drop (call $add_header (i32.const 2) (i32.const 1024) (i32.const 12) (i32.const 1040) (i32.const 12)))
    (i32.const 0)))

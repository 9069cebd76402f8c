;; The basE91 decoder of dist/action.js, as WebAssembly: the embedded module is ~71,000
;; characters, which the same loop in JavaScript decoded in 2-4 ms of every cold start (the
;; interpreter ran most of it), and this one in well under a millisecond. The build assembles
;; it with binaryen (build-tools/base91-wasm.js); the file carries it as base64, which Node
;; decodes natively. js-shim/base91.mjs is the JavaScript side and the encoder.
;;
;; Contract: the caller writes the text's characters (all in BASE91_ALPHABET, one byte each)
;; from offset 0 of the exported memory `m`, growing it first, and calls `d(n)` with their
;; count. The bytes are written from offset 0 too, over the text, and `d` returns how many
;; there are. Writing over the text is safe: two characters carry at most 14 bits, fewer than
;; the 16 of the two bytes they took, so the output never passes the input (after k pairs, at
;; most 14k/8 bytes are out, and 2k characters are read); and a pair is read before any of the
;; at most two bytes it completes is written.
(module
 (memory (export "m") 1)

 ;; The digit of one alphabet character: printable ASCII from 33 ('!') without '"' (34), "'"
 ;; (39) and '\' (92).
 (func $digit (param $char i32) (result i32)
  (i32.sub
   (i32.sub
    (i32.sub
     (i32.sub (local.get $char) (i32.const 33))
     (i32.gt_u (local.get $char) (i32.const 34)))
    (i32.gt_u (local.get $char) (i32.const 39)))
   (i32.gt_u (local.get $char) (i32.const 92))))

 (func (export "d") (param $n i32) (result i32)
  (local $in i32) (local $out i32) (local $bits i32) (local $count i32) (local $value i32)
  (block $done
   (loop $pairs
    (br_if $done (i32.ge_u (i32.add (local.get $in) (i32.const 1)) (local.get $n)))
    ;; Two characters are one value below 91 * 91, which holds 13 bits, or 14 when its low
    ;; 13 bits are at most 88 (Henke's basE91).
    (local.set $value
     (i32.add
      (call $digit (i32.load8_u (local.get $in)))
      (i32.mul (call $digit (i32.load8_u offset=1 (local.get $in))) (i32.const 91))))
    (local.set $bits (i32.or (local.get $bits) (i32.shl (local.get $value) (local.get $count))))
    (local.set $count
     (i32.add
      (local.get $count)
      (select (i32.const 13) (i32.const 14)
       (i32.gt_u (i32.and (local.get $value) (i32.const 8191)) (i32.const 88)))))
    ;; Whole bytes out, low bits first; fewer than 8 bits stay for the next pair.
    (loop $bytes
     (i32.store8 (local.get $out) (local.get $bits))
     (local.set $out (i32.add (local.get $out) (i32.const 1)))
     (local.set $bits (i32.shr_u (local.get $bits) (i32.const 8)))
     (local.set $count (i32.sub (local.get $count) (i32.const 8)))
     (br_if $bytes (i32.gt_u (local.get $count) (i32.const 7))))
    (local.set $in (i32.add (local.get $in) (i32.const 2)))
    (br $pairs)))
  ;; An odd last character carries the final byte's high bits.
  (if (i32.lt_u (local.get $in) (local.get $n))
   (then
    (i32.store8
     (local.get $out)
     (i32.or
      (local.get $bits)
      (i32.shl (call $digit (i32.load8_u (local.get $in))) (local.get $count))))
    (local.set $out (i32.add (local.get $out) (i32.const 1)))))
  (local.get $out)))

(module
  (import "m" "mem" (memory 0))
  ;; First 8-byte word in [p, end) (byte offsets, 8-aligned) whose value, unsigned, lies in
  ;; [lo, hi]; its offset, or -1. lo and hi come as f64 (exact below 2^53) so that a call
  ;; from JS passes no BigInt; both must be below 2^63, which makes the signed compares of
  ;; i64x2 (SIMD has no unsigned ones) exact: a word with its top bit set is negative, below lo.
  (func (export "scan") (param $p i32) (param $end i32) (param $lof f64) (param $hif f64) (result i32)
    (local $lo i64) (local $hi i64) (local $vlo v128) (local $vhi v128) (local $m v128) (local $w i64)
    (local.set $lo (i64.trunc_sat_f64_u (local.get $lof)))
    (local.set $hi (i64.trunc_sat_f64_u (local.get $hif)))
    (local.set $vlo (i64x2.splat (local.get $lo)))
    (local.set $vhi (i64x2.splat (local.get $hi)))
    (block $tail
      (loop $vec
        (br_if $tail (i32.gt_u (i32.add (local.get $p) (i32.const 64)) (local.get $end)))
        (local.set $m (v128.and
          (i64x2.ge_s (v128.load offset=0 align=1 (local.get $p)) (local.get $vlo))
          (i64x2.le_s (v128.load offset=0 align=1 (local.get $p)) (local.get $vhi))))
        (local.set $m (v128.or (local.get $m) (v128.and
          (i64x2.ge_s (v128.load offset=16 align=1 (local.get $p)) (local.get $vlo))
          (i64x2.le_s (v128.load offset=16 align=1 (local.get $p)) (local.get $vhi)))))
        (local.set $m (v128.or (local.get $m) (v128.and
          (i64x2.ge_s (v128.load offset=32 align=1 (local.get $p)) (local.get $vlo))
          (i64x2.le_s (v128.load offset=32 align=1 (local.get $p)) (local.get $vhi)))))
        (local.set $m (v128.or (local.get $m) (v128.and
          (i64x2.ge_s (v128.load offset=48 align=1 (local.get $p)) (local.get $vlo))
          (i64x2.le_s (v128.load offset=48 align=1 (local.get $p)) (local.get $vhi)))))
        ;; A hit in these 64 bytes: the word loop below finds it.
        (br_if $tail (v128.any_true (local.get $m)))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $vec)))
    (block $none
      (loop $word
        (br_if $none (i32.gt_u (i32.add (local.get $p) (i32.const 8)) (local.get $end)))
        (local.set $w (i64.load align=1 (local.get $p)))
        (if (i32.and (i64.ge_u (local.get $w) (local.get $lo)) (i64.le_u (local.get $w) (local.get $hi)))
          (then (return (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $word)))
    (i32.const -1)))

#!/usr/bin/env bash
# tidy (in the spirit of rustc's tidy "pal" check): OS cfgs live only in
# gort/src/platform/. Fails, naming file:line, for every `cfg(..)`,
# `cfg_attr(..)` or `cfg!(..)` elsewhere in gort/src that asks about the
# OS or the chip (target_os, target_family, target_arch, target_env,
# target_vendor, unix, windows), also when the cfg spans several lines.
# Comment lines (doc examples included) are skipped: they are not gort's
# code. gort/build.rs may ask: it turns such facts into the project's
# cfgs (gort_mn, gort_gc, gort_cores, gort_wasm_atomics).
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t files < <(find gort/src -name '*.rs' -not -path 'gort/src/platform/*' | sort)
found=$(perl -0777 -ne '
    my $text = $_;
    $text =~ s{^[ \t]*//[^\n]*}{}mg;    # comment lines (left empty: lines keep their numbers)
    while ($text =~ /\bcfg(?:_attr)?!?\s*\(/g) {
        my ($start, $depth, $i) = (pos($text), 1, pos($text));
        while ($depth > 0 && $i < length $text) {
            my $c = substr($text, $i++, 1);
            $depth += ($c eq "(") - ($c eq ")");
        }
        my $args = substr($text, $start, $i - $start);
        while ($args =~ /\b(target_os|target_family|target_arch|target_env|target_vendor|unix|windows)\b/g) {
            my $line = 1 + (substr($text, 0, $start + $-[0]) =~ tr/\n//);
            print "$ARGV:$line: `$1` in a cfg outside gort/src/platform/\n";
        }
    }
' "${files[@]}")

if [[ -n $found ]]; then
    printf '%s\n' "$found" >&2
    echo "tidy: OS cfgs belong in gort/src/platform/ (one file per OS): put the OS-specific code there behind a function or type" >&2
    exit 1
fi
echo "tidy: ok (${#files[@]} files outside gort/src/platform/ ask no OS cfg)"

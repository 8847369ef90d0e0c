#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0-only
#
# report.sh - turn BENCH lines from several sources into one table and one
# JSON file.
#
#   report.sh [-o results.json] [-t targets.txt] [label=]file ...
#
# Each file may hold anything (a VM console log, a benchmark's stdout); only
# lines containing "BENCH <name> csx=... base=..." count, wherever "BENCH"
# starts on the line (console prefixes such as "[ 1.23] " are skipped).
# Fields are key=value: csx, base, ratio, unit, kind, target, note (note
# takes the rest of the line). The short form printed by the kernel stage,
#   BENCH <name> csx=<ns> base=<ns> ratio=<r>
# gets unit, kind and target from the targets file (first matching regex),
# else unit=ns, kind=time, no target.
#
# If CSX_BENCH_EXTRA names a readable file, its rows are added under the
# label $CSX_BENCH_EXTRA_LABEL (default "kernel").
#
# ratio is always csx/base. kind says how to read it: "time" (lower is
# better), "rate" (throughput, higher is better), "abs" (no baseline; the
# target is on the csx figure). target is "ratio<=X", "ratio>=X", "csx<=X",
# "csx>=X" or "-"; met is yes, NO, "-" (report only) or n/a (no figure).

set -eu

out=
targets=
while getopts o:t: opt; do
	case $opt in
	o) out=$OPTARG ;;
	t) targets=$OPTARG ;;
	*) echo "usage: $0 [-o json] [-t targets] [label=]file ..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

if [ -n "${CSX_BENCH_EXTRA:-}" ]; then
	if [ -r "$CSX_BENCH_EXTRA" ]; then
		set -- "$@" "${CSX_BENCH_EXTRA_LABEL:-kernel}=$CSX_BENCH_EXTRA"
	else
		echo "report.sh: CSX_BENCH_EXTRA=$CSX_BENCH_EXTRA is not readable; ignored" >&2
	fi
fi

# Flatten the sources to "label<TAB>line" so one awk program sees them all.
rows() {
	for arg in "$@"; do
		case $arg in
		*=*) label=${arg%%=*}; file=${arg#*=} ;;
		*) label=$(basename "$arg"); label=${label%.*}; file=$arg ;;
		esac
		if [ ! -r "$file" ]; then
			echo "report.sh: cannot read $file" >&2
			continue
		fi
		tr -d '\r' <"$file" | sed -n "s/^.*\(BENCH [^ ][^ ]* csx=\)/$label	\1/p"
	done
}

rows "$@" | awk -F '\t' -v json="$out" -v targets="$targets" '
function num(s) { return s ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ }
function jstr(s) {
	gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, " ", s)
	return "\"" s "\""
}
function jnum(s) { return num(s) ? s + 0 : "null" }
function eval_target(t, c, r,    op, lim, v) {
	if (t == "-" || t == "") return "-"
	if (!match(t, /(<=|>=)/)) return "?"
	op = substr(t, RSTART, 2)
	v = substr(t, 1, RSTART - 1)
	lim = substr(t, RSTART + 2) + 0
	v = (v == "csx") ? c : r
	if (!num(v)) return "n/a"
	if (op == "<=") return (v + 0 <= lim) ? "yes" : "NO"
	return (v + 0 >= lim) ? "yes" : "NO"
}
function fmt(v) {
	if (!num(v)) return "-"
	v += 0
	if (v >= 100) return sprintf("%.0f", v)
	if (v >= 1) return sprintf("%.2f", v)
	return sprintf("%.3g", v)
}
BEGIN {
	nt = 0
	if (targets != "") {
		while ((getline l < targets) > 0) {
			if (l ~ /^[ \t]*(#|$)/) continue
			split(l, f, /[ \t]+/)
			nt++; tre[nt] = f[1]; tkind[nt] = f[2]
			tunit[nt] = f[3]; ttgt[nt] = f[4]
		}
	}
}
{
	label = $1; line = $2
	note = ""
	if ((i = index(line, " note=")) > 0) {
		note = substr(line, i + 6); line = substr(line, 1, i - 1)
	}
	n = split(line, w, / +/)
	name = w[2]
	delete kv
	for (k = 3; k <= n; k++)
		if ((j = index(w[k], "=")) > 0)
			kv[substr(w[k], 1, j - 1)] = substr(w[k], j + 1)
	unit = "ns"; kind = "time"; tgt = "-"
	for (k = 1; k <= nt; k++)
		if (name ~ tre[k]) {
			kind = tkind[k]; unit = tunit[k]; tgt = ttgt[k]; break
		}
	if ("unit" in kv) unit = kv["unit"]
	if ("kind" in kv) kind = kv["kind"]
	if ("target" in kv) tgt = kv["target"]
	c = kv["csx"]; b = kv["base"]; r = kv["ratio"]
	if (!num(r) && num(c) && num(b) && b + 0 > 0)
		r = sprintf("%.4g", c / b)
	R++
	S[R] = label; N[R] = name; C[R] = c; B[R] = b; U[R] = unit
	K[R] = kind; RA[R] = r; T[R] = tgt; NO[R] = note
	M[R] = eval_target(tgt, c, r)
}
END {
	hdr = "%-8s %-38s %11s %11s %-6s %8s %-5s %-12s %s\n"
	printf hdr, "source", "name", "csx", "base", "unit", "ratio", "kind", \
		"target", "met"
	for (i = 1; i <= R; i++)
		printf hdr, S[i], N[i], fmt(C[i]), fmt(B[i]), U[i], fmt(RA[i]), \
			K[i], T[i], M[i]
	met = 0; miss = 0
	for (i = 1; i <= R; i++) {
		if (M[i] == "yes") met++
		if (M[i] == "NO" || M[i] == "n/a") miss++
	}
	printf "\n%d rows: %d targets met, %d not met or not measured\n", \
		R, met, miss
	printf "ratio = csx/base; kind time: lower is better, rate: higher " \
		"is better, abs: target on csx\n\nnotes:\n"
	for (i = 1; i <= R; i++)
		if (NO[i] != "") printf "  %s: %s\n", N[i], NO[i]
	if (json == "") exit 0
	printf "[\n" > json
	for (i = 1; i <= R; i++) {
		printf "  {\"source\": %s, \"name\": %s, \"csx\": %s, " \
			"\"base\": %s, \"unit\": %s, \"ratio\": %s, " \
			"\"kind\": %s, \"target\": %s, \"met\": %s, " \
			"\"note\": %s}%s\n", jstr(S[i]), jstr(N[i]), jnum(C[i]), \
			jnum(B[i]), jstr(U[i]), jnum(RA[i]), jstr(K[i]), \
			jstr(T[i]), jstr(M[i]), jstr(NO[i]), \
			(i < R ? "," : "") >> json
	}
	printf "]\n" >> json
	close(json)
}'

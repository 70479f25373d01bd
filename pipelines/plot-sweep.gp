# plot-sweep.gp — Figure 5: metric vs sparsity ratio, one line per task, from
# `stats --sweep --format tsv` (columns task, method, tag, ratio, split, n, mean, std).
#   gnuplot -e "infile='fig5.tsv'; outfile='fig5.svg'" pipelines/plot-sweep.gp
if (!exists("infile")) infile = "fig5.tsv"
if (!exists("outfile")) outfile = "fig5.svg"
set terminal svg size 900,450 dynamic enhanced font "sans,11"
set output outfile
set datafile separator "\t"
set logscale x
set xlabel "sparsity ratio p"
set ylabel "metric × 100 (mean ± std over seeds)"
set key outside right top
set grid
set title "Sparsity sweep (Figure 5)"
tasks = system(sprintf("awk -F'\\t' '$1 !~ /^#/ && $1 != \"task\" && NF > 6 && !seen[$1]++ {printf \"%%s \", $1}' %s", infile))
plot for [t in tasks] sprintf("< awk -F'\\t' -v t='%s' '$1==t {print $4\"\\t\"$7\"\\t\"($8==\"NA\"?0:$8)}' %s | sort -g", t, infile) \
     using 1:2:3 with yerrorlines title t

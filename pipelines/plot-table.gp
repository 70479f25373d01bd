# plot-table.gp — bar chart of a `stats --format tsv` table: mean ± std per method, one
# cluster per task (AVG included).
#   gnuplot -e "infile='table.tsv'; outfile='table.svg'" pipelines/plot-table.gp
if (!exists("infile")) infile = "table.tsv"
if (!exists("outfile")) outfile = "table.svg"
set terminal svg size 900,450 dynamic enhanced font "sans,11"
set output outfile
set datafile separator "\t"
set datafile missing "NA"
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.6 border -1
set key outside right top
set ylabel "metric × 100 (mean ± std over seeds)"
set yrange [0:*]
set grid ytics
set title "sparsetune: methods × tasks"
# rows: method, task, n, mean, std, ...; one column block per method
methods = system(sprintf("awk -F'\\t' 'NR>2 && !seen[$1]++ {printf \"%%s \", $1}' %s", infile))
tasks = system(sprintf("awk -F'\\t' 'NR>2 && !seen[$2]++ {printf \"%%s \", $2}' %s", infile))
plot for [m in methods] sprintf("< awk -F'\\t' -v m='%s' 'NR>2 && $1==m {print $2\"\\t\"$4\"\\t\"($5==\"NA\"?0:$5)}' %s", m, infile) \
     using 2:3:xtic(1) title m

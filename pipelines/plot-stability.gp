# plot-stability.gp — Figure 4: per task and method, the rank by std (1 = most stable)
# against the rank by mean (1 = best), from `stats --stability --format tsv`.
#   gnuplot -e "infile='fig4.tsv'; outfile='fig4.svg'" pipelines/plot-stability.gp
if (!exists("infile")) infile = "fig4.tsv"
if (!exists("outfile")) outfile = "fig4.svg"
set terminal svg size 600,500 dynamic enhanced font "sans,11"
set output outfile
set datafile separator "\t"
set xlabel "rank by std (1 = most stable)"
set ylabel "rank by mean (1 = best)"
set key off
set grid
set title "Stability vs performance (Figure 4)"
plot sprintf("< awk -F'\\t' 'NR>2 && NF==6 && $1 !~ /^#/ && $1 != \"task\" {print $5\"\\t\"$6\"\\t\"$2}' %s", infile) \
     using 1:2 with points pt 7 ps 1.2, \
     '' using 1:2:3 with labels offset 1,0.5 font ",8"

# plot-curves.gp — Figure 3: training loss over the steps with the re-projection steps marked
# and the Jaccard overlap of each projection's mask with the previous one beside the mark,
# from `stats --curves --mask-log` (columns run, step, loss, dev_metric, projection,
# jaccard_previous, jaccard_final).
#   gnuplot -e "infile='fig3.tsv'; outfile='fig3.svg'" pipelines/plot-curves.gp
if (!exists("infile")) infile = "fig3.tsv"
if (!exists("outfile")) outfile = "fig3.svg"
set terminal svg size 900,450 dynamic enhanced font "sans,11"
set output outfile
set datafile separator "\t"
set datafile missing ""
set xlabel "step"
set ylabel "training loss"
set key outside right top
set grid
set title "DiffPruning re-projected periodically: loss and mask overlap (Figure 3)"
jlabel(s) = (s eq "" ? "J prev -" : sprintf("J prev %.2f", real(s)))
plot infile every ::1 using 2:3 with lines lw 1 title "train loss", \
     infile every ::1 using ($5 == 1 ? $2 : 1/0):3 with impulses lw 2 lc rgb "red" title "re-projection", \
     infile every ::1 using ($5 == 1 ? $2 : 1/0):3:(jlabel(strcol(6))) with labels offset 0,1 font ",9" notitle

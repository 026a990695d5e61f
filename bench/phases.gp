# Time per phase, etcd-rescue against the manual procedure, as stacked bars.
# gnuplot -e "datafile='phases.dat'; outfile='x.png'; subtitle='...'" bench/phases.gp
set terminal pngcairo size 1000,460 font "DejaVu Sans,11"
set output outfile
set title "Recovery time per phase: etcd-rescue recover vs the seed's manual procedure\n{/*0.8 ".subtitle."}"
set style data histograms
set style histogram rowstacked
set style fill solid 0.9 border rgb "white"
set boxwidth 0.55
set key outside right top title "phase"
set ylabel "seconds (wall clock)"
set yrange [0:*]
set grid ytics
set xtics nomirror
set ytics nomirror
set border 3
# "cut-over" and the others come from the header line.
# One fixed color per phase (gnuplot's default cycle repeats after 8).
array colors[10] = ["#6a3d9a", "#1f78b4", "#a6cee3", "#ff7f00", "#fdbf6f", "#33a02c", "#b2df8a", "#e31a1c", "#fb9a99", "#999999"]
plot for [c=2:11] datafile using c:xtic(1) title columnheader(c) lc rgb colors[c-1]

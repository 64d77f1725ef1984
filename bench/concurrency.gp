# Calls/s (left axis, solid) and p99 latency (right axis, dashed) against concurrency for the
# swept scenarios. Run from the results folder: gnuplot -e "read='model-details';write='create-model'" concurrency.gp
set terminal pngcairo size 1000,560 font ",11"
set output "concurrency.png"
set title "zeva-bench: closed-loop concurrency sweep"
set logscale x 2
set xlabel "concurrent callers"
set ylabel "calls/s"
set y2label "p99 latency, ms"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key top left
set grid
plot "sweep-".read.".dat" using 1:2 axes x1y1 with linespoints lw 2 lc 1 title read." calls/s", \
     "sweep-".write.".dat" using 1:2 axes x1y1 with linespoints lw 2 lc 2 title write." calls/s", \
     "sweep-".read.".dat" using 1:3 axes x1y2 with linespoints lw 2 dt 2 lc 1 title read." p99 ms", \
     "sweep-".write.".dat" using 1:3 axes x1y2 with linespoints lw 2 dt 2 lc 2 title write." p99 ms"

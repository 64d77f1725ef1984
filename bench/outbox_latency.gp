# Commit-to-notification latency (p50, p99; left axis) and the server's AdjustCredits calls/s
# (right axis) against the callers loading the server. Run from the results folder.
set terminal pngcairo size 1000,560 font ",11"
set output "outbox-latency.png"
set title "zeva-worker: transaction to notification message, under server load"
set logscale x 2
set xlabel "concurrent AdjustCredits callers"
set ylabel "latency, ms"
set y2label "AdjustCredits calls/s"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key top left
set grid
plot "outbox-latency.dat" using 1:2 axes x1y1 with linespoints lw 2 lc 1 title "p50 ms", \
     "outbox-latency.dat" using 1:3 axes x1y1 with linespoints lw 2 lc 2 title "p99 ms", \
     "outbox-latency.dat" using 1:4 axes x1y2 with linespoints lw 2 dt 2 lc 3 title "calls/s"

# The credit API against concurrency: GetBalances, and transfer transitions (submit, rescind,
# create) spread over one seller per caller or all on one hot seller. Calls/s (left axis,
# solid) and p99 latency (right axis, dashed). Run from the results folder.
set terminal pngcairo size 1000,560 font ",11"
set output "credit-concurrency.png"
set title "zeva-bench: credit API, closed-loop concurrency sweep"
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
plot "credit-sweep-balances.dat" using 1:2 axes x1y1 with linespoints lw 2 lc 1 title "GetBalances calls/s", \
     "credit-sweep-contention-spread.dat" using 1:2 axes x1y1 with linespoints lw 2 lc 2 title "transitions/s, 64 sellers", \
     "credit-sweep-contention-hot.dat" using 1:2 axes x1y1 with linespoints lw 2 lc 3 title "transitions/s, one seller", \
     "credit-sweep-balances.dat" using 1:3 axes x1y2 with linespoints lw 2 dt 2 lc 1 title "GetBalances p99 ms", \
     "credit-sweep-contention-spread.dat" using 1:3 axes x1y2 with linespoints lw 2 dt 2 lc 2 title "64 sellers p99 ms", \
     "credit-sweep-contention-hot.dat" using 1:3 axes x1y2 with linespoints lw 2 dt 2 lc 3 title "one seller p99 ms"

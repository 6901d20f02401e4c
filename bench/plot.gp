# gnuplot -e "outdir='DIR'" plot.gp: DIR/performance.png from run-bench.py's .dat files
set terminal pngcairo size 1500,540 font "DejaVu Sans,10" noenhanced
set datafile missing "-"
set output outdir."/performance.png"
set multiplot layout 1,3 title "pam_otp_sms: what a login costs (make bench)" font ",13"

# 1. every stack, state on disk and on tmpfs: p50 bars, p90 whiskers
set title "One login at a time: p50 (bar) and p90 (whisker)"
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set ylabel "ms per login"
set yrange [0:*]
set xtics rotate by -25 font ",9" nomirror
set key top right
set grid ytics
plot outdir."/compare.dat" using 2:2:3:xtic(1) title "files on disk" lc rgb "#4477aa", \
     "" using 4:4:5 title "files on tmpfs" lc rgb "#ee7733"

# 2. concurrency: logins per second
unset style
set style data linespoints
set title "Concurrent logins (state on disk)"
set xlabel "concurrent logins"
set ylabel "logins per second"
set logscale x 2
set xrange [0.8:80]
set xtics (1, 8, 64) rotate by 0 font ",10"
set yrange [0:*]
set key top left
plot outdir."/conc.dat" using 1:2 title "pam_otp_sms" lw 2 pt 7 lc rgb "#4477aa", \
     "" using 1:3 title "floor" lw 2 pt 5 lc rgb "#999999", \
     "" using 1:($6 > 0 ? $6 : 1/0) title "pam_otp_sms, Redis" lw 2 pt 9 lc rgb "#228833"

# 3. users on record
set title "User records in the state"
set xlabel "user records in the state"
set ylabel "ms (p50)"
set logscale x 10
set xrange [5:200000]
set xtics ("10" 10, "100" 100, "1k" 1000, "10k" 10000, "100k" 100000)
set yrange [0:*]
set key right center
plot outdir."/users-disk.dat" using 1:2 title "whole login, disk" lw 2 pt 7 lc rgb "#4477aa", \
     "" using 1:4 title "state ops of a login, disk" lw 2 pt 5 lc rgb "#ee7733", \
     outdir."/users-tmpfs.dat" using 1:2 title "whole login, tmpfs" lw 2 dt 2 pt 6 lc rgb "#4477aa", \
     "" using 1:4 title "state ops, tmpfs" lw 2 dt 2 pt 4 lc rgb "#ee7733"
unset multiplot

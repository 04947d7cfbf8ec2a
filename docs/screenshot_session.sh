#!/bin/bash
# A sound designer's minute in the real window, under Xvfb: mouse and keyboard via xdotool.
# Drag a selection, drag inside it (a new one), Shift-drag (extends), type 70 % + Enter (no
# render), Render, L and Space with the percent box focused, Tab to hear and see the take (B),
# click the other take, S, F2 + name + Enter, a minute of looped A/B and arrow keys, Ctrl+Enter,
# then SIGKILL and a restart that offers recovery.  Screenshots and a log of what the window
# did go to $OUT (default /tmp/stepedit-session); 02-B-playing.png becomes
# docs/screenshot-session.png.
#
#   apt-get install xvfb xdotool x11-apps ffmpeg
#   xvfb-run -a -s "-screen 0 1600x1000x24" docs/screenshot_session.sh
set -u
cd "$(dirname "$0")/.."
export ALSA_CONFIG_PATH=$PWD/tests/data/asoundrc.null
export STEPEDIT_DATA_DIR=${OUT:-/tmp/stepedit-session}/data STEPEDIT_CONFIG_DIR=${OUT:-/tmp/stepedit-session}/cfg
OUT=${OUT:-/tmp/stepedit-session}; mkdir -p $OUT; LOG=$OUT/window.log; GEO=$OUT/geo.json
rm -f $GEO
pos() { python3 -c "import json;print(*json.load(open('$GEO'))['$1'])"; }
shot() { xwd -root -silent > $OUT/$1.xwd && ffmpeg -loglevel error -y -i $OUT/$1.xwd $OUT/$1.png && rm $OUT/$1.xwd; echo "shot $1" >> $LOG; }
.venv/bin/python docs/screenshot_session_launch.py tests/data/LJ001-0004.wav $LOG $GEO 2>>$OUT/stderr.log &
APP=$!
sleep 12
xdotool search --name StepEdit | head -1 > $OUT/winid
WID=$(cat $OUT/winid); xdotool windowactivate --sync $WID 2>/dev/null
# 1. drag a selection in the waveform, then drag inside it: a new selection
read X1 Y1 < <(pos t1.0); read X2 Y2 < <(pos t3.0)
xdotool mousemove $X1 $((Y1-40)) mousedown 1; for x in $(seq $X1 20 $X2); do xdotool mousemove $x $((Y1-40)); done; xdotool mouseup 1
sleep 1
read X3 Y3 < <(pos t1.5); read X4 Y4 < <(pos t2.5)
xdotool mousemove $X3 $((Y3-40)) mousedown 1; for x in $(seq $X3 20 $X4); do xdotool mousemove $x $((Y3-40)); done; xdotool mouseup 1
sleep 1
# Shift-drag extends to 3.5 s
read X5 Y5 < <(pos t3.0); read X6 Y6 < <(pos t3.5)
xdotool keydown shift mousemove $X5 $((Y5-40)) mousedown 1; for x in $(seq $X5 10 $X6); do xdotool mousemove $x $((Y5-40)); done; xdotool mouseup 1 keyup shift
sleep 1
# 2. type 70 into happy's percent box, Enter (commits, must not render)
read X Y < <(pos happy_spin); xdotool mousemove $X $Y click --repeat 3 1; xdotool key ctrl+a; xdotool type "70"; xdotool key Return
sleep 2
# Enter on the slider renders (2 iterations by default)
read X Y < <(pos whisper_slider); xdotool mousemove $X $Y; 
read X Y < <(pos happy_slider); xdotool mousemove $((X+200)) $((Y+30)); xdotool mousemove $X $Y
xdotool mousemove $(pos happy_spin) click 1; xdotool key Tab  # Tab is A/B now (no take yet: a status line)
xdotool mousemove $(pos render) click 1
sleep 10
shot 01-rendered
# a second take: type 40 into happy's box, Enter, click Render (a render that converges after
# its first iteration gives one take)
xdotool mousemove $(pos happy_spin) click --repeat 3 1; xdotool key ctrl+a; xdotool type "40"; xdotool key Return
xdotool mousemove $(pos render) click 1
sleep 8
# 5. L and Space with the percent box focused: loop playback starts
xdotool mousemove $(pos happy_spin) click 1; xdotool key l; sleep 0.5; xdotool key space
sleep 3
# Tab: hear (and see) the take, B
xdotool key Tab; sleep 3
shot 02-B-playing
# 3. click the other take with the mouse (loads it: B follows), star it with S
sleep 1
xdotool mousemove $(pos take_row1) click 1; sleep 3; xdotool key s
shot 03-clicked-take
# rename with F2, Enter commits (no render)
xdotool key F2; sleep 0.5; xdotool key ctrl+a; xdotool type "calm guard"; xdotool key Return; sleep 2
# keep playing, flipping A/B and moving through takes with the arrows, for the rest of the minute
for i in $(seq 1 10); do xdotool key Tab; sleep 2; xdotool key Up; sleep 2; done
shot 04-after-a-minute
# drag the whisper slider and release: with auto-render off nothing renders; Ctrl+Enter renders
read X Y < <(pos whisper_slider); xdotool mousemove $((X-60)) $Y mousedown 1 mousemove $((X-20)) $Y mousemove $X $Y mouseup 1
xdotool key ctrl+Return; sleep 10
shot 05-third-render
xdotool key space; sleep 1
# 2. kill it mid-session (SIGKILL), start again: recovery offered
kill -9 $APP; wait $APP 2>/dev/null; echo "killed $APP" >> $LOG
.venv/bin/python docs/screenshot_session_launch.py - $LOG $GEO 2>>$OUT/stderr.log &
APP=$!
sleep 10
shot 06-recovery-offered
xdotool key Return   # Recover (the default button)
sleep 8
shot 07-recovered
xdotool key ctrl+q; sleep 2
shot 08-closing-asks
xdotool key Escape; sleep 1   # cancel: the window stays
kill -9 $APP; wait $APP 2>/dev/null
echo "session done" >> $LOG
cp $OUT/02-B-playing.png docs/screenshot-session.png

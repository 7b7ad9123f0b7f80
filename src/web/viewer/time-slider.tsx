import { useEffect, useRef, useState } from "react";

/** Props of {@link TimeSlider}. */
export interface TimeSliderProps {
  /** The live workflow's newest seq. */
  lastSeq: number;
  /** The seq shown, or null for live. */
  seq: number | null;
  /** Resolves once the view shows `seq` (the replay waits for it before the next step). */
  onSeq: (seq: number | null) => Promise<void>;
}

/** Steps a replay takes from the first event to the last, whatever the workflow's length. */
const REPLAY_STEPS = 60;

/**
 * The workflow as of any seq: drag to travel in time, Live to come back, Replay to watch it grow
 * from the first event in about REPLAY_STEPS steps.
 */
export function TimeSlider({ lastSeq, seq, onSeq }: TimeSliderProps) {
  const [draft, setDraft] = useState<number | null>(null);
  const [playing, setPlaying] = useState(false);
  const playingRef = useRef(false);
  const debounce = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const shown = draft ?? seq ?? lastSeq;

  useEffect(() => () => clearTimeout(debounce.current), []);

  const travel = (value: number) => {
    setDraft(value);
    clearTimeout(debounce.current);
    debounce.current = setTimeout(() => {
      void onSeq(value >= lastSeq ? null : value).finally(() => setDraft(null));
    }, 200);
  };

  const replay = async () => {
    if (playingRef.current) {
      playingRef.current = false;
      setPlaying(false);
      return;
    }
    playingRef.current = true;
    setPlaying(true);
    const step = Math.max(1, Math.ceil(lastSeq / REPLAY_STEPS));
    for (let s = 0; s < lastSeq && playingRef.current; s += step) {
      await onSeq(s);
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    if (playingRef.current) await onSeq(null);
    playingRef.current = false;
    setPlaying(false);
  };

  return (
    <div className="time-slider">
      <button type="button" onClick={replay}>
        {playing ? "Stop" : "Replay"}
      </button>
      <input
        type="range"
        min={0}
        max={Math.max(0, lastSeq)}
        value={shown}
        onChange={(e) => travel(Number(e.target.value))}
        aria-label="Workflow as of seq"
      />
      <span className="seq-label">
        {seq === null && draft === null ? `live · seq ${lastSeq}` : `seq ${shown} of ${lastSeq}`}
      </span>
      <button type="button" disabled={seq === null} onClick={() => void onSeq(null)}>
        Live
      </button>
    </div>
  );
}

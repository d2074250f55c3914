import { formatBytes, formatDuration } from "./render/format.js";

interface ProgressStream {
  write(text: string): unknown;
  columns?: number;
}

/**
 * A one-line progress bar on stderr: bytes done of total, upload rate, ETA. Redrawn at most
 * ten times a second so a fast local upload does not spend its time painting.
 */
export class ProgressBar {
  private done = 0;
  private uploaded = 0;
  private firstUploadAt: number | undefined;
  private lastDraw = 0;
  private status = "";

  constructor(
    private readonly stream: ProgressStream,
    private readonly total: number,
  ) {}

  /** Bytes that need no more work (hashed and already present, or uploaded). */
  complete(n: number): void {
    this.done += n;
    this.draw();
  }

  /** Bytes that left for the registry; they count towards `done` and the rate. */
  sent(n: number): void {
    this.firstUploadAt ??= performance.now();
    this.uploaded += n;
    this.done += n;
    this.draw();
  }

  setStatus(text: string): void {
    this.status = text;
    this.draw();
  }

  finish(): void {
    this.stream.write("\r\u001b[2K");
  }

  private draw(): void {
    const now = performance.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const fraction = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const seconds = this.firstUploadAt !== undefined ? (now - this.firstUploadAt) / 1000 : 0;
    const rate = seconds > 0 ? this.uploaded / seconds : 0;
    const eta = rate > 0 ? (this.total - this.done) / rate : Number.POSITIVE_INFINITY;
    const width = Math.max(10, Math.min(30, (this.stream.columns ?? 80) - 70));
    const filled = Math.round(fraction * width);
    const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
    const parts = [
      `[${bar}]`,
      `${String(Math.floor(fraction * 100)).padStart(3)}%`,
      `${formatBytes(this.done)} / ${formatBytes(this.total)}`,
      rate > 0 ? `${formatBytes(rate)}/s` : "-- B/s",
      `ETA ${formatDuration(eta)}`,
      this.status,
    ];
    this.stream.write(`\r\u001b[2K${parts.filter(Boolean).join("  ")}`);
  }
}

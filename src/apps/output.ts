/**
 * What a study or command computes, as one value: the CLI writes it into a folder, a browser
 * can show it. Every app's `…Outputs` function returns one of these; none of them writes.
 */

/** A picture a study drew, encoded as PNG. */
export interface Figure {
  /** File name relative to the output folder, e.g. "superres.png". */
  name: string;
  png: Uint8Array;
  /** One line saying what the picture shows (rows, colours), for the report and alt text. */
  caption: string;
}

/** Any other file: a table, a JSON summary, a model. */
export interface OutputFile {
  name: string;
  data: Uint8Array | string;
}

export interface StudyOutputs<S> {
  /** The machine-readable result (printed by --json, written as a .json file). */
  summary: S;
  /** The report in Markdown (written as a .md file). */
  markdown: string;
  /** What the CLI prints on stdout by default. */
  text: string;
  figures: Figure[];
  files: OutputFile[];
}

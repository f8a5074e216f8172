/**
 * What a run is called on the NATS server: one stream name gives the jobs
 * stream (WorkQueue retention), the results stream, their subjects, the
 * workers' durable consumer and the object-store bucket for messages too
 * large for one NATS message.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** The names of one run's streams, subjects, consumer and bucket. */
export interface RunNames {
  /** The jobs stream, as given: `SMIMEPOST`. */
  stream: string;
  /** Where jobs are published: `smimepost.SMIMEPOST.jobs`. */
  jobsSubject: string;
  /** The results stream: `SMIMEPOST_RESULTS`. */
  resultsStream: string;
  /** Every result subject: `smimepost.SMIMEPOST.results.*`. */
  resultsFilter: string;
  /** The workers' durable pull consumer. */
  consumer: string;
  /** The object store bucket for large messages (its stream is `OBJ_<bucket>`). */
  bucket: string;
}

/** The names of the run kept in `stream`. */
export function runNames(stream: string): RunNames {
  return {
    stream,
    jobsSubject: `smimepost.${stream}.jobs`,
    resultsStream: `${stream}_RESULTS`,
    resultsFilter: `smimepost.${stream}.results.*`,
    consumer: "smimepost-workers",
    bucket: stream,
  };
}

/**
 * The subject of a job's results: one token per job id (a digest, since a
 * Message-ID may hold dots, spaces or wildcards a subject cannot).
 */
export function resultSubject(names: RunNames, jobId: string): string {
  return `smimepost.${names.stream}.results.${digestOf(jobId)}`;
}

/** The first 32 hex digits of the SHA-256 of `text`. */
export function digestOf(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

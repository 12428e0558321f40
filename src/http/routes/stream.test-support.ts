/** Test support for the Server-Sent Events answers of generations and edits (`stream: true`). */

export interface StreamEvent {
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: event bodies are checked field by field
  data: any;
}

/** The events of a whole SSE body (comment lines such as keep-alives are skipped). */
export function parseEvents(text: string): StreamEvent[] {
  return text
    .split("\n\n")
    .map((block) => block.split("\n").filter((line) => line !== "" && !line.startsWith(":")))
    .filter((lines) => lines.length > 0)
    .map((lines) => {
      const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? "message";
      const data = lines
        .filter((l) => l.startsWith("data: "))
        .map((l) => l.slice(6))
        .join("\n");
      return { event, data: JSON.parse(data) };
    });
}

/** A small but real PDF (one page, one line of text). */
export function samplePdf(text = 'Switchyard test page'): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    null,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  const stream = `BT /F1 24 Tf 72 700 Td (${text}) Tj ET`;
  objects[3] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(pdf.length);
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) pdf += `${String(offset).padStart(10, '0')} 00000 n \n`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

/**
 * The polling client of print-jobs.txt, as its users wrote it, with only the base URL and key
 * changed (it polls every 200 ms instead of 2 s). Returns the job id and its final state.
 */
export async function referencePollingClient(origin: string, key: string, target: string, content: string): Promise<{ jobId: string; state: string }> {
  const printRes = await fetch(`${origin}/api/v1/print/${target}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': key },
    body: JSON.stringify({ content, contentType: 'raw_base64', wait: false }),
  });
  const { result } = (await printRes.json()) as { result: { content: { jobId: string } } };
  const jobId = result.content.jobId;
  let state = 'queued';
  while (state === 'queued' || state === 'printing') {
    await new Promise((r) => setTimeout(r, 200));
    const jobRes = await fetch(`${origin}/api/v1/jobs/${jobId}`, { headers: { 'X-API-Key': key } });
    const job = (await jobRes.json()) as { result: { content: { state: string } } };
    state = job.result.content.state;
  }
  return { jobId, state };
}

/** The label the reference example prints. */
export const REFERENCE_LABEL = 'XlhBXkZPNTAuNTBeQTBOLDUwLDUwXkZESGVsbG8gV29ybGReRlNeWFo=';


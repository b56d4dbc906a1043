// Renders one Carbone batch to PDF, for bench/run.py:
//   node render.js TEMPLATE.docx DATA.json OUT_DIR FACTORIES
// DATA.json is a list of report data. The factories (LibreOffice processes) are started and
// warmed with one render first; the timed part is every document, as many at once as there are
// factories, from the first render call to the last PDF written. Prints {"wall_s": ...}.
'use strict';
const fs = require('fs');
const path = require('path');
const carbone = require('carbone');

const [templatePath, dataPath, outDir, factories] = process.argv.slice(2);
const documents = JSON.parse(fs.readFileSync(dataPath, 'utf8'));
const options = { convertTo: 'pdf' };

function render (data) {
  return new Promise((resolve, reject) => {
    carbone.render(templatePath, data, options, (err, pdf) => (err ? reject(err) : resolve(pdf)));
  });
}

async function main () {
  carbone.set({ factories: Number(factories), startFactory: true });
  await Promise.all(Array.from({ length: Number(factories) }, () => render(documents[0])));
  const started = process.hrtime.bigint();
  await Promise.all(documents.map(async (data, index) => {
    const pdf = await render(data);
    fs.writeFileSync(path.join(outDir, `${String(index).padStart(3, '0')}.pdf`), pdf);
  }));
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({ wall_s: wall }) + '\n');
  process.exit(0);
}

main().catch((err) => { console.error(err); process.exit(1); });

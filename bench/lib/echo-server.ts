/** The baseline of benchmark 1: a bare express app that parses the JSON body and echoes it. */
import express from 'express';

const app = express();
app.use(express.json({ limit: '8mb' }));
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});
app.post('/v1/insurer-payments', (req, res) => {
  res.status(202).json(req.body);
});
app.listen(Number(process.env.PORT ?? 18901), '127.0.0.1');

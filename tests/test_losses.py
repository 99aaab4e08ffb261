"The CoMIR loss against a slow, obviously correct loop; descent for every supervision × critic; C4 invariance."
import itertools
import pytest, torch
from torch import nn
from corepreg.critics import similarity
from corepreg.data import PatchDataset, synthetic_pairs
from corepreg.losses import LossConfig, bottleneck_head, comir_loss, info_nce, rot90_batch
from corepreg.models import DenseUNet, MODEL_PRESETS


def critic_loop(a, b, critic):
    "One critic value from its definition, on flattened vectors."
    a, b = a.flatten(), b.flatten()
    if critic == 'mse': return -((a - b) ** 2).mean()
    if critic == 'l1': return -(a - b).abs().mean()
    if critic == 'euclidean': return -torch.sqrt(((a - b) ** 2).sum())
    if critic == 'cosine': return (a * b).sum() / (a.norm() * b.norm())


def info_nce_loop(za, zb, critic, tau):
    "PAPER.md's equation, one anchor and one pair at a time."
    z = list(za) + list(zb)
    n2 = len(z)
    total = 0.0
    for i in range(n2):
        pos = (i + n2 // 2) % n2
        s = [critic_loop(z[i], z[k], critic) / tau for k in range(n2)]
        others = torch.stack([s[k] for k in range(n2) if k != i])
        total = total + (-s[pos] + torch.logsumexp(others, 0))
    return total / n2


@pytest.mark.parametrize('critic,n,shape', [(c, n, s) for c in ('mse', 'l1', 'cosine', 'euclidean')
                                            for n in (1, 2, 7, 32) for s in ((1, 8, 8), (3, 5, 5))])
def test_info_nce_matches_loop_values_and_gradients(critic, n, shape):
    g = torch.Generator().manual_seed(n)
    za = torch.randn(n, *shape, generator=g, dtype=torch.float64, requires_grad=True)
    zb = torch.randn(n, *shape, generator=g, dtype=torch.float64, requires_grad=True)
    fast, slow = info_nce(za, zb, critic, 0.5), info_nce_loop(za, zb, critic, 0.5)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=0)
    gf = torch.autograd.grad(fast, (za, zb)); gs = torch.autograd.grad(slow, (za, zb))
    for a, b in zip(gf, gs): torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_info_nce_float32_close_to_float64():
    za, zb = torch.randn(32, 1, 32, 32), torch.randn(32, 1, 32, 32)
    torch.testing.assert_close(info_nce(za, zb).double(), info_nce(za.double(), zb.double()), atol=1e-5, rtol=1e-5)


def _batch():
    ds = PatchDataset(synthetic_pairs(2, 96, seed=0), patch=64, length=8, seed=0)
    return [torch.stack(t) for t in zip(*[ds[i] for i in range(8)])]


@pytest.mark.parametrize('supervision,critic', list(itertools.product(('none', 'pooled', 'projected', 'dense'),
                                                                      ('mse', 'l1', 'cosine'))))
def test_twenty_steps_lower_the_total_loss(supervision, critic):
    torch.manual_seed(0)
    cfg = LossConfig(critic=critic, supervision=supervision)
    na, nb = DenseUNet(MODEL_PRESETS['tiny']), DenseUNet(MODEL_PRESETS['tiny'])
    ha, hb = (bottleneck_head(supervision, na.bottleneck_channels, cfg.proj_dim) for _ in range(2))
    mods = [m for m in (na, nb, ha, hb) if m is not None]
    opt = torch.optim.SGD([p for m in mods for p in m.parameters()], lr=0.01, momentum=0.9)
    xa, xb = _batch()
    def loss_at(step, train=True):
        return comir_loss(na, nb, xa, xb, cfg, ha, hb, generator=torch.Generator().manual_seed(step))
    for m in mods: m.eval()
    with torch.no_grad(): before = loss_at(0)[1]
    for m in mods: m.train()
    for step in range(20):
        loss, _ = loss_at(step)
        opt.zero_grad(); loss.backward(); opt.step()
    for m in mods: m.eval()
    with torch.no_grad(): after = loss_at(0)[1]
    assert after['total'] < before['total'], (before, after)
    if supervision != 'none': assert 'bottleneck' in after


class Identity(nn.Module):
    def forward(self, x, return_bottleneck=False): return (x, x) if return_bottleneck else x


@pytest.mark.parametrize('seed', range(4))
def test_c4_turns_leave_identity_loss_unchanged(seed):
    """Each patch turned by its own random multiple of 90° (A and B drawn independently), then the maps turned back:
    identity networks give the loss of no turns. Without the turn back the loss changes (checked too, so the test can fail)."""
    xa, xb = torch.rand(6, 1, 12, 12), torch.rand(6, 1, 12, 12)
    for sup in ('none', 'pooled', 'dense'):
        heads = (nn.Conv2d(1, 1, 1), nn.Conv2d(1, 1, 1)) if sup == 'dense' else (None, None)
        ref = comir_loss(Identity(), Identity(), xa, xb, LossConfig(equivariance=False, supervision=sup), *heads)[0]
        got = comir_loss(Identity(), Identity(), xa, xb, LossConfig(equivariance=True, supervision=sup), *heads,
                         generator=torch.Generator().manual_seed(seed))[0]
        torch.testing.assert_close(got, ref)
    g = torch.Generator().manual_seed(seed)                       # the same turns comir_loss drew
    ka, kb = (torch.randint(0, 4, (6,), generator=g) for _ in range(2))
    assert (ka != kb).any()
    tau = LossConfig().tau
    assert not torch.allclose(info_nce(rot90_batch(xa, ka), rot90_batch(xb, kb), 'mse', tau), info_nce(xa, xb, 'mse', tau))


def test_rot90_batch_turns_back():
    x = torch.randn(8, 2, 6, 6); k = torch.randint(0, 4, (8,))
    torch.testing.assert_close(rot90_batch(rot90_batch(x, k), (-k) % 4), x)
    with pytest.raises(ValueError, match='square patches'):
        rot90_batch(torch.randn(2, 1, 4, 6), torch.tensor([1, 2]))


def test_unknown_critic_and_missing_head():
    with pytest.raises(ValueError, match='valid critics'):
        similarity(torch.randn(2, 3), torch.randn(2, 3), 'dot')
    na = DenseUNet(MODEL_PRESETS['tiny'])
    with pytest.raises(ValueError, match='needs a head'):
        comir_loss(na, na, torch.rand(2, 1, 32, 32), torch.rand(2, 1, 32, 32), LossConfig(supervision='dense'))


@pytest.mark.parametrize('critic', ['mse', 'cosine'])
def test_centred_loss_is_the_loop_loss_of_the_centred_maps_and_blind_to_offsets(critic):
    """`LossConfig.centre`: the InfoNCE term equals the loop version on maps with each channel's spatial mean taken out,
    so a constant added to any one map (per sample and channel) leaves it unchanged; without `centre` the same offsets
    change it. The activation decay still sees the uncentred maps (it grows with the offsets)."""
    torch.manual_seed(0)
    xa, xb = torch.rand(5, 2, 8, 8, dtype=torch.float64), torch.rand(5, 2, 8, 8, dtype=torch.float64)
    offsets = torch.randn(5, 2, 1, 1, dtype=torch.float64) * 3
    centred = LossConfig(critic=critic, centre=True, equivariance=False)
    plain = LossConfig(critic=critic, equivariance=False)
    parts = comir_loss(Identity(), Identity(), xa, xb, centred)[1]
    c = lambda z: z - z.mean((-2, -1), keepdim=True)
    torch.testing.assert_close(parts['info_nce'], info_nce_loop(c(xa), c(xb), critic, centred.tau))
    shifted = comir_loss(Identity(), Identity(), xa, xb + offsets, centred)[1]
    torch.testing.assert_close(shifted['info_nce'], parts['info_nce'])
    assert shifted['decay'] > parts['decay']
    assert not torch.allclose(comir_loss(Identity(), Identity(), xa, xb + offsets, plain)[1]['info_nce'],
                              comir_loss(Identity(), Identity(), xa, xb, plain)[1]['info_nce'])


def test_alignment_term_is_one_minus_the_loop_pearson_r_and_blind_to_each_maps_scale():
    """`LossConfig.align = w` adds w·(1 − r̄), r̄ the mean over the batch of the Pearson r of pair i's two maps (all channels
    and pixels), from its definition; a positive gain and an offset on any one map leave it unchanged, a sign flip does
    not, and the rest of the loss is untouched."""
    torch.manual_seed(0)
    xa, xb = torch.rand(5, 2, 8, 8, dtype=torch.float64), torch.rand(5, 2, 8, 8, dtype=torch.float64)
    xb = xb + 0.5 * xa                                     # correlated pairs, so that r̄ is far from 0

    def r_loop(a, b):
        a, b = a.flatten() - a.mean(), b.flatten() - b.mean()
        return (a * b).sum() / torch.sqrt((a * a).sum() * (b * b).sum())

    r_bar = torch.stack([r_loop(a, b) for a, b in zip(xa, xb)]).mean()
    aligned, plain = LossConfig(align=3.0, equivariance=False), LossConfig(equivariance=False)
    total, parts = comir_loss(Identity(), Identity(), xa, xb, aligned)
    torch.testing.assert_close(parts['align'], 3.0 * (1 - r_bar))
    torch.testing.assert_close(total, comir_loss(Identity(), Identity(), xa, xb, plain)[0] + 3.0 * (1 - r_bar))
    gain, offset = torch.rand(5, 1, 1, 1, dtype=torch.float64) + 0.5, torch.randn(5, 1, 1, 1, dtype=torch.float64)
    torch.testing.assert_close(comir_loss(Identity(), Identity(), xa, gain * xb + offset, aligned)[1]['align'], parts['align'])
    torch.testing.assert_close(comir_loss(Identity(), Identity(), xa, -xb, aligned)[1]['align'], 3.0 * (1 + r_bar))
    assert 'align' not in comir_loss(Identity(), Identity(), xa, xb, plain)[1]

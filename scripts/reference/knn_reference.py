#!/usr/bin/env python3
"""The weighted k-nearest-neighbour classifier of DINO's eval_knn.py (knn_classifier), written out here as the
reference for mae-cpp's engine/knn.cpp, and the fixture tests/fixtures/engine/knn.safetensors that the C++ test
compares against: fixed clustered features, the classifier's class scores, predictions, top-1 and top-5.

The algorithm, as DINO runs it: features L2-normalised (F.normalize, dim 1); for each test row the cosine
similarities to every training row, the k largest (k = 20); each neighbour votes for its class with weight
exp(similarity / T) (T = 0.07); classes ranked by their summed votes (probs.sort(1, True), taken stable here so that
equal scores keep class order); top-1 and top-5 in percent.

Run from the repository root: python3 scripts/reference/knn_reference.py
"""
import pathlib

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = pathlib.Path('tests/fixtures/engine/knn.safetensors')


@torch.no_grad()
def knn_classifier(train_features, train_labels, test_features, test_labels, k, temperature, num_classes):
    train = F.normalize(train_features, dim=1, p=2).t()
    test = F.normalize(test_features, dim=1, p=2)
    k = min(k, train.shape[1])
    similarity = test @ train
    distances, indices = similarity.topk(k, dim=1, largest=True, sorted=True)
    neighbours = torch.gather(train_labels.view(1, -1).expand(test.shape[0], -1), 1, indices)
    one_hot = torch.zeros(test.shape[0] * k, num_classes)
    one_hot.scatter_(1, neighbours.reshape(-1, 1), 1)
    weights = (distances / temperature).exp()
    scores = (one_hot.view(test.shape[0], k, num_classes) * weights.view(test.shape[0], k, 1)).sum(1)
    _, ranked = scores.sort(dim=1, descending=True, stable=True)
    correct = ranked.eq(test_labels.view(-1, 1))
    top1 = correct[:, :1].sum().item() * 100.0 / test.shape[0]
    top5 = correct[:, :min(5, num_classes)].sum().item() * 100.0 / test.shape[0]
    return scores, ranked[:, 0], top1, top5


def clustered(generator, count, centres, spread):
    labels = torch.randint(0, centres.shape[0], (count,), generator=generator)
    return centres[labels] + spread * torch.randn(count, centres.shape[1], generator=generator), labels


def main():
    generator = torch.Generator().manual_seed(0)
    num_classes, width = 10, 24
    centres = torch.randn(num_classes, width, generator=generator)
    # Overlapping clusters, so that the classifier makes mistakes and top-1 differs from top-5.
    train_features, train_labels = clustered(generator, 400, centres, 1.2)
    test_features, test_labels = clustered(generator, 120, centres, 1.2)
    tensors = {'train_features': train_features, 'train_labels': train_labels,
               'test_features': test_features, 'test_labels': test_labels}
    metadata = {}
    for name, k, temperature in (('k20', 20, 0.07), ('k5_t05', 5, 0.5)):
        scores, predictions, top1, top5 = knn_classifier(train_features, train_labels, test_features, test_labels,
                                                         k, temperature, num_classes)
        tensors[f'{name}_scores'] = scores
        tensors[f'{name}_predictions'] = predictions
        metadata[f'{name}_top1'] = repr(top1)
        metadata[f'{name}_top5'] = repr(top5)
        print(f'{name}: top-1 {top1:.2f} %, top-5 {top5:.2f} %')
    OUT.parent.mkdir(parents=True, exist_ok=True)
    save_file({name: t.contiguous() for name, t in tensors.items()}, str(OUT), metadata=metadata)
    print(f'wrote {OUT}')


if __name__ == '__main__':
    main()

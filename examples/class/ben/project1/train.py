"""A plain project-1 training loop: Adam at a fixed learning rate, no augmentation (calibration fixture)."""

import torch
import torch.nn.functional as F


def pair_loss(target_logits, digit_logits, target, classes, aux_weight):
    loss = F.cross_entropy(target_logits, target)
    if digit_logits is not None:
        loss = loss + aux_weight * (F.cross_entropy(digit_logits[:, 0], classes[:, 0])
                                    + F.cross_entropy(digit_logits[:, 1], classes[:, 1]))
    return loss


def accuracy(model, pair_input, target, batch_size=1000):
    model.eval()
    with torch.no_grad():
        target_logits, _ = model(pair_input)
    return (target_logits.argmax(1) == target).float().mean().item()


def train_model(model, train_input, train_target, train_classes, *, epochs=25, batch_size=100, lr=1e-3,
                aux_weight=1.0, **unused):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for batch in torch.randperm(len(train_input)).split(batch_size):
            target_logits, digit_logits = model(train_input[batch])
            loss = pair_loss(target_logits, digit_logits, train_target[batch], train_classes[batch], aux_weight)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        history.append({"epoch": epoch + 1, "loss": total / len(train_input)})
    return history

"""Assignment 08: BatchNorm's running statistics left unfrozen, a new head that forgets the old head's dtype and
device, weight decay on biases and norms, and a distillation loss without the T² factor."""

WRONG_ANSWERS = {
    'freeze': """def freeze(model, prefixes):
    names = {n for n, _ in model.named_modules() if n} | {n for n, _ in model.named_parameters()}
    missing = [p for p in prefixes if p not in names]
    if missing:
        raise ValueError(f"unknown names {missing}")
    result = []
    for n, p in model.named_parameters():
        if any(n == q or n.startswith(q + ".") for q in prefixes):
            p.requires_grad = False
            result.append(n)
    return result


def train_mode(model):
    return model.train()
""",
    'head': """def replace_head(model, num_classes):
    found = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not found:
        raise ValueError("no linear layer")
    name = found[-1]
    old = model.get_submodule(name)
    parent, _, child = name.rpartition(".")
    new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    new.train(old.training)
    model.get_submodule(parent).add_module(child, new)
    return name
""",
    'groups': """NORMALIZATION = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm)


def parameter_groups(model, head_prefixes, head_lr, backbone_lr, weight_decay):
    head, backbone = [], []
    for n, p in model.named_parameters():
        if p.requires_grad:
            is_head = any(n == q or n.startswith(q + ".") for q in head_prefixes)
            (head if is_head else backbone).append(p)
    groups = []
    if backbone:
        groups.append({"params": backbone, "lr": backbone_lr, "weight_decay": weight_decay})
    if head:
        groups.append({"params": head, "lr": head_lr, "weight_decay": weight_decay})
    return groups
""",
    'distillation': """def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha,
                      reduction="mean"):
    if reduction not in ("none", "sum", "mean"):
        raise ValueError(reduction)
    log_q = F.log_softmax(student_logits / temperature, dim=1)
    p = F.softmax(teacher_logits.detach() / temperature, dim=1)
    soft = F.kl_div(log_q, p, reduction="none").sum(dim=1)
    loss = alpha * soft + (1 - alpha) * F.cross_entropy(student_logits, labels, reduction="none")
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]
""",
}
# What the judge's feedback must name for each of them (test cell grade id -> the mistake it reports).
MISTAKES = {
    "test_freeze": ("the frozen BatchNorm layers are left in training mode: their running statistics keep changing "
                    "(requires_grad=False does not freeze them)"),
    "test_head": ("the new head is created with the default dtype and device, not the old head's "
                  "(a float64 or meta network gets a float32 head on the CPU)"),
    "test_groups": "weight decay is applied to the biases and the normalisation layers' parameters too",
    "test_distillation": ("the soft term is not multiplied by T² (its gradients shrink like 1/T² as the temperature "
                          "grows)"),
}

" postern rule files. Vim's own filetype.vim guesses *.rules as udev,
" polkit or hog rules; files under those tools' folders keep that guess.
au BufNewFile,BufRead *.rules
      \ if expand('<afile>:p') !~# '/\%(udev\|polkit-1\)/' | set filetype=postern | endif
